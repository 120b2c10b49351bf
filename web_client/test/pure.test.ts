import { describe, expect, it } from "vitest";
import { Api, readCookie, type FetchLike } from "../src/protocol/api";
import { ServerClock, countdown, splitDuration } from "../src/protocol/clock";
import { availability, pickSession, upcomingSessions } from "../src/protocol/schedule";
import { CircleError, parseSnapshot, type SessionSummary } from "../src/protocol/types";
import { camControl, canLead, gridColumns, handQueue, micControl, micHeldByRoom, tileOrder } from "../src/protocol/view";
import { participant, snapshot } from "./snapshots";

describe("clock", () => {
  it("keeps the sample with the shortest round trip", () => {
    const c = new ServerClock();
    c.sample(0, 1000, 10_500); // rtt 1000 -> offset 10000
    expect(c.offset).toBe(10_000);
    c.sample(2000, 2100, 12_100); // rtt 100 -> offset 10050
    expect(c.offset).toBe(10_050);
    c.sample(3000, 4000, 99_999); // worse sample ignored
    expect(c.offset).toBe(10_050);
    c.hint(5000, 0); // one-way hints do not override round trips
    expect(c.offset).toBe(10_050);
    expect(c.now(1)).toBe(10_051);
  });

  it("counts down, then shows overrun, and stands still while paused", () => {
    const s = snapshot({ server_time_ms: 0, phase_ends_at_ms: 60_000, remaining_ms: 60_000 });
    expect(countdown(s, 15_000)).toEqual({ kind: "remaining", ms: 45_000, paused: false });
    expect(countdown(s, 75_000)).toEqual({ kind: "overrun", ms: 15_000, paused: false });
    const paused = snapshot({ server_time_ms: 20_000, phase_ends_at_ms: 60_000, remaining_ms: null, paused: true });
    expect(countdown(paused, 50_000)).toEqual({ kind: "remaining", ms: 40_000, paused: true });
    // The server sends no deadline while paused, only the frozen remaining time.
    const paused2 = snapshot({ server_time_ms: 20_000, phase_ends_at_ms: null, remaining_ms: 30_000, paused: true });
    expect(countdown(paused2, 90_000)).toEqual({ kind: "remaining", ms: 30_000, paused: true });
    const onlyRemaining = snapshot({ server_time_ms: 10_000, phase_ends_at_ms: null, remaining_ms: 5_000 });
    expect(countdown(onlyRemaining, 12_000)).toEqual({ kind: "remaining", ms: 3_000, paused: false });
    expect(countdown(snapshot({ phase_ends_at_ms: null, remaining_ms: null }), 0)).toEqual({ kind: "untimed" });
  });

  it("splits durations, rounding up while counting down", () => {
    expect(splitDuration(61_001, true)).toEqual({ h: 0, m: 1, s: 2 });
    expect(splitDuration(61_999, false)).toEqual({ h: 0, m: 1, s: 1 });
    expect(splitDuration(3_600_000 + 5_000, false)).toEqual({ h: 1, m: 0, s: 5 });
    expect(splitDuration(-5, true)).toEqual({ h: 0, m: 0, s: 0 });
  });
});

function session(extra: Partial<SessionSummary>): SessionSummary {
  return {
    id: "1",
    group_id: "g",
    group_name: "Balint Tuesday",
    protocol: "balint",
    starts_at: "2026-11-23T15:00:00Z",
    ends_at: "2026-11-23T16:00:00Z",
    timezone: "Europe/Amsterdam",
    status: "scheduled",
    lobby_opens_at: "2026-11-23T14:50:00Z",
    role: "member",
    ...extra,
  };
}

describe("schedule", () => {
  const at = (iso: string): number => Date.parse(iso);
  it("says when the lobby opens, and opens it", () => {
    const s = session({});
    expect(availability(s, at("2026-11-23T14:00:00Z"))).toMatchObject({ kind: "wait", opensAtMs: at("2026-11-23T14:50:00Z") });
    expect(availability(s, at("2026-11-23T14:50:00Z")).kind).toBe("open");
    expect(availability(session({ status: "live" }), 0).kind).toBe("open");
    expect(availability(session({ status: "cancelled" }), 0).kind).toBe("cancelled");
    expect(availability(s, at("2026-11-23T17:00:00Z")).kind).toBe("ended");
  });

  it("picks the requested session, else the open one, else the next", () => {
    const now = at("2026-11-23T14:55:00Z");
    const later = session({ id: "2", starts_at: "2026-11-25T15:00:00Z", ends_at: "2026-11-25T16:00:00Z", lobby_opens_at: "2026-11-25T14:50:00Z" });
    const open = session({ id: "1" });
    const old = session({ id: "0", status: "ended" });
    expect(pickSession([later, open, old], now, null)?.id).toBe("1");
    expect(pickSession([later, open, old], now, "2")?.id).toBe("2");
    expect(pickSession([later, old], now, "99")?.id).toBe("2");
    // the server sends ids as numbers; the ?session= parameter is a string
    const wire = { ...later, id: 2 as unknown as string };
    expect(pickSession([wire, open], now, "2")).toBe(wire);
    expect(pickSession([old], now, null)).toBeNull();
    expect(upcomingSessions([later, open, old], now).map((s) => s.id)).toEqual(["1", "2"]);
  });
});

describe("api", () => {
  function fakeFetch(status: number, body: unknown, calls: { url: string; init: unknown }[]): FetchLike {
    return async (url, init) => {
      calls.push({ url, init });
      return { ok: status < 400, status, json: async () => body };
    };
  }

  it("sends the CSRF header on POST only", async () => {
    const calls: { url: string; init: unknown }[] = [];
    const api = new Api(fakeFetch(200, { token: "t", expires_at: "x" }, calls), () => "csrf-1");
    await api.joinToken("12");
    await api.me();
    expect(calls[0]?.url).toBe("/api/sessions/12/join-token");
    expect(calls[0]?.init).toMatchObject({ method: "POST", headers: { "X-CSRF-Token": "csrf-1" } });
    expect((calls[1]?.init as { headers: Record<string, string> }).headers["X-CSRF-Token"]).toBeUndefined();
  });

  it("maps the error envelope to a CircleError with the code", async () => {
    const api = new Api(fakeFetch(409, { error: { code: "not_open", message: "later" } }, []), () => null);
    const err = await api.joinToken("1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircleError);
    expect(err).toMatchObject({ code: "not_open", status: 409 });
    const api2 = new Api(fakeFetch(401, null, []), () => null);
    await expect(api2.me()).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("reads a cookie", () => {
    expect(readCookie("a=1; circle_csrf=abc%3D; b=2", "circle_csrf")).toBe("abc=");
    expect(readCookie("a=1", "circle_csrf")).toBeNull();
  });
});

describe("snapshot view", () => {
  it("parses ids given as numbers and fills defaults", () => {
    const s = parseSnapshot({ ...snapshot(), session_id: 7, presenter_id: 2, hands: [3] });
    expect(s.session_id).toBe("7");
    expect(s.presenter_id).toBe("2");
    expect(s.hands).toEqual(["3"]);
    expect(() => parseSnapshot({ version: 1 })).toThrow(CircleError);
  });

  it("derives `you` from the hello identity when the broadcast does not carry it", () => {
    const { you: _ignored, ...broadcast } = snapshot({
      participants: [participant("1", { role: "leader", capabilities: ["lead", "note", "speak"] }), participant("3")],
    });
    const s = parseSnapshot(broadcast, "1");
    expect(s.you).toEqual({ person_id: "1", capabilities: ["lead", "note", "speak"] });
    expect(canLead(s)).toBe(true);
    expect(() => parseSnapshot(broadcast, null)).toThrow(CircleError);
  });

  it("orders tiles stably: leaders first, then by name; hides people who left", () => {
    const ps = [
      participant("9", { display_name: "Zoë" }),
      participant("2", { display_name: "Amir", speaking: true }),
      participant("1", { display_name: "Yara", role: "co_leader" }),
      participant("5", { display_name: "Bart", presence: "left" }),
      participant("4", { display_name: "Lea", role: "leader" }),
    ];
    expect(tileOrder(ps).map((p) => p.person_id)).toEqual(["4", "1", "2", "9"]);
  });

  it("knows who leads, who is held by the room, and the hand queue", () => {
    const s = snapshot({
      hands: ["3", "2", "404"],
      participants: [participant("1", { role: "leader" }), participant("2"), participant("3", { muted_by_rule: true })],
    });
    expect(canLead(s)).toBe(false);
    expect(micHeldByRoom(s)).toBe(true);
    expect(handQueue(s).map((p) => p.person_id)).toEqual(["3", "2"]);
    expect(canLead({ ...s, you: { person_id: "1", capabilities: ["lead", "note"] } })).toBe(true);
  });

  it("chooses grid columns that keep 14 tiles as large as possible", () => {
    expect(gridColumns(1, 1000, 600)).toBe(1);
    expect(gridColumns(14, 1600, 900)).toBe(4);
    expect(gridColumns(14, 360, 1400)).toBeLessThanOrEqual(2);
    expect(gridColumns(4, 1600, 900)).toBe(2);
  });
});

describe("device controls", () => {
  it("shows the room's hold before anything else, even to someone who joined listen-only", () => {
    expect(micControl({ hasTrack: false, heldByRoom: true, selfMuted: true })).toBe("held-listening");
    expect(micControl({ hasTrack: true, heldByRoom: true, selfMuted: false })).toBe("held");
  });

  it("offers to turn a microphone on when there is none, else mute/unmute", () => {
    expect(micControl({ hasTrack: false, heldByRoom: false, selfMuted: true })).toBe("turn-on");
    expect(micControl({ hasTrack: true, heldByRoom: false, selfMuted: true })).toBe("muted");
    expect(micControl({ hasTrack: true, heldByRoom: false, selfMuted: false })).toBe("live");
  });

  it("offers to turn a camera on when there is none, else on/off", () => {
    expect(camControl({ hasTrack: false, cameraOff: true })).toBe("turn-on");
    expect(camControl({ hasTrack: true, cameraOff: true })).toBe("off");
    expect(camControl({ hasTrack: true, cameraOff: false })).toBe("on");
  });
});
