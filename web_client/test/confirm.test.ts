import { describe, expect, it } from "vitest";
import { Api, type FetchLike } from "../src/protocol/api";
import { SeriesConfirmations, seriesToConfirm, type ConfirmState } from "../src/protocol/confirm";
import { CircleError, type SessionSummary } from "../src/protocol/types";

function session(over: Partial<SessionSummary>): SessionSummary {
  return {
    id: "1", group_id: "7", group_name: "Balint A", protocol: "balint",
    starts_at: "2026-11-25T15:00:00Z", ends_at: "2026-11-25T16:00:00Z", timezone: "Europe/Amsterdam",
    status: "scheduled", lobby_opens_at: "2026-11-25T14:50:00Z", role: "member", series_id: 3,
    ...over,
  };
}

type Call = { url: string; init: Parameters<FetchLike>[1] };

function fakeFetch(answers: { status: number; body: unknown }[], calls: Call[]): FetchLike {
  return async (url, init) => {
    calls.push({ url, init });
    const a = answers.shift() ?? { status: 500, body: null };
    return { ok: a.status < 400, status: a.status, json: async () => a.body };
  };
}

describe("series confirmation", () => {
  const now = Date.parse("2026-11-23T14:00:00Z");

  it("lists each upcoming series a member is in once, soonest first", () => {
    const list = seriesToConfirm(
      [
        session({ id: "1", series_id: 3, starts_at: "2026-11-30T15:00:00Z", ends_at: "2026-11-30T16:00:00Z" }),
        session({ id: "2", series_id: 3, starts_at: "2026-11-26T15:00:00Z", ends_at: "2026-11-26T16:00:00Z" }),
        session({ id: "3", series_id: 9, group_name: "Dynamic", starts_at: "2026-11-24T15:00:00Z", ends_at: "2026-11-24T16:00:00Z" }),
        session({ id: "4", series_id: null }), // a one-off session: nothing to confirm
        session({ id: "5", series_id: 11, role: "leader" }), // leaders do not confirm
        session({ id: "6", series_id: 12, status: "cancelled" }),
        session({ id: "7", series_id: 13, starts_at: "2026-11-20T15:00:00Z", ends_at: "2026-11-20T16:00:00Z" }),
      ],
      now,
    );
    expect(list).toEqual([
      { series_id: "9", group_name: "Dynamic", next_starts_at: "2026-11-24T15:00:00Z", upcoming: 1, confirmed: false },
      { series_id: "3", group_name: "Balint A", next_starts_at: "2026-11-26T15:00:00Z", upcoming: 2, confirmed: false },
    ]);
  });

  it("starts from what the server says was confirmed before", () => {
    const list = seriesToConfirm(
      [
        session({ id: "1", series_id: 3, starts_at: "2026-11-30T15:00:00Z", ends_at: "2026-11-30T16:00:00Z", series_confirmed: true }),
        session({ id: "2", series_id: 9, starts_at: "2026-11-26T15:00:00Z", ends_at: "2026-11-26T16:00:00Z", series_confirmed: false }),
      ],
      now,
    );
    const c = new SeriesConfirmations({ confirmSeries: async () => ({ confirmed: true, new: true }) });
    c.seed(list);
    expect(c.state("3")).toEqual({ kind: "confirmed", already: true });
    expect(c.state("9")).toEqual({ kind: "unknown" });
  });

  it("POSTs to /api/series/{id}/confirm with the CSRF header from the cookie", async () => {
    const calls: Call[] = [];
    const api = new Api(fakeFetch([{ status: 200, body: { confirmed: true, new: true } }], calls), () => "tok-1");
    await expect(api.confirmSeries(3)).resolves.toEqual({ confirmed: true, new: true });
    expect(calls[0]?.url).toBe("/api/series/3/confirm");
    expect(calls[0]?.init).toMatchObject({
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": "tok-1", Accept: "application/json" },
    });
  });

  it("goes unknown -> confirming -> confirmed, and says when it was confirmed before", async () => {
    const calls: Call[] = [];
    const api = new Api(
      fakeFetch([{ status: 200, body: { confirmed: true, new: true } }, { status: 200, body: { confirmed: true, new: false } }], calls),
      () => "t",
    );
    const c = new SeriesConfirmations(api);
    const seen: ConfirmState[] = [];
    c.events.on("change", (e) => seen.push(e.state));
    expect(c.state("3")).toEqual({ kind: "unknown" });
    const first = c.confirm("3");
    expect(c.state("3")).toEqual({ kind: "confirming" });
    // A second click while the first is under way sends nothing.
    await expect(c.confirm("3")).resolves.toEqual({ kind: "confirming" });
    await expect(first).resolves.toEqual({ kind: "confirmed", already: false });
    expect(seen.map((s) => s.kind)).toEqual(["confirming", "confirmed"]);
    // Confirmed: no second request.
    await c.confirm("3");
    expect(calls).toHaveLength(1);
    // Another series confirmed earlier (e.g. from the e-mail link): new=false.
    await expect(c.confirm("9")).resolves.toEqual({ kind: "confirmed", already: true });
  });

  it("keeps the server's refusal and allows another try", async () => {
    const api = new Api(
      fakeFetch(
        [
          { status: 404, body: { error: { code: "not_found", message: "not in the group" } } },
          { status: 200, body: { confirmed: true, new: true } },
        ],
        [],
      ),
      () => null,
    );
    const c = new SeriesConfirmations(api);
    await expect(c.confirm("3")).resolves.toEqual({ kind: "failed", code: "not_found", message: "not in the group" });
    await expect(c.confirm("3")).resolves.toEqual({ kind: "confirmed", already: false });
  });

  it("reports a network failure with the network code", async () => {
    const api = new Api(async () => { throw new TypeError("offline"); }, () => null);
    const c = new SeriesConfirmations(api);
    const r = await c.confirm("3");
    expect(r.kind).toBe("failed");
    expect(r).toMatchObject({ code: "network" });
    expect(new CircleError("network", "x").code).toBe("network");
  });
});
