import { beforeEach, describe, expect, it } from "vitest";
import { RoomClient, type RoomState } from "../src/protocol/room-client";
import { CircleError, type Snapshot } from "../src/protocol/types";
import { FakeSocket, flush } from "./fakes";
import { snapshot } from "./snapshots";

interface Harness {
  client: RoomClient;
  socket: FakeSocket;
  states: RoomState[];
  snapshots: Snapshot[];
  tokensIssued: string[];
  timers: { fn: () => void; ms: number }[];
  clockMs: { value: number };
}

function helloReply(required = false): Record<string, unknown> {
  return {
    ok: true,
    server_time_ms: 5_000,
    you: { person_id: "3", role: "member", display_name: "Person 3" },
    agreement: { required, version: "v2", text: "What is said here stays here." },
  };
}

function makeHarness(
  opts: { agreement?: boolean; tokenError?: CircleError; joinNote?: Record<string, unknown> } = {},
): Harness {
  let n = 0;
  const tokensIssued: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const clockMs = { value: 1_000 };
  let socket!: FakeSocket;
  let version = 1;
  const client = new RoomClient({
    socketFactory: (auth) => {
      socket = new FakeSocket(auth);
      socket.autoReply = (event) => {
        if (event === "hello") return helloReply(opts.agreement ?? false);
        if (event === "agreement.accept") return { ok: true };
        if (event === "join") {
          const reply: Record<string, unknown> = { ok: true, snapshot: snapshot({ version: version++ }) };
          if (opts.joinNote) reply["note"] = opts.joinNote;
          return reply;
        }
        return { ok: true };
      };
      return socket;
    },
    tokenProvider: async () => {
      if (opts.tokenError) throw opts.tokenError;
      n += 1;
      const t = `token-${n}`;
      tokensIssued.push(t);
      return t;
    },
    now: () => clockMs.value,
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => undefined,
  });
  const states: RoomState[] = [];
  const snapshots: Snapshot[] = [];
  client.events.on("state", (e) => states.push(e.to));
  client.events.on("snapshot", (s) => snapshots.push(s));
  return { client, socket, states, snapshots, tokensIssued, timers, clockMs };
}

describe("RoomClient", () => {
  let h: Harness;
  beforeEach(() => {
    h = makeHarness();
  });

  it("says hello with the protocol version, then joins and holds the snapshot", async () => {
    await h.client.start();
    await flush();
    expect(h.socket.emitted.map((e) => e.event)).toEqual(["hello", "join"]);
    expect(h.socket.emitted[0]?.payload).toEqual({ v: 1 });
    expect(h.states).toEqual(["connecting", "joining", "joined"]);
    expect(h.client.snapshot?.phase).toBe("presentation");
    expect(h.client.selfId).toBe("3");
    expect(h.socket.tokens).toEqual(["token-1"]);
  });

  it("waits for the agreement before joining", async () => {
    h = makeHarness({ agreement: true });
    await h.client.start();
    await flush();
    expect(h.client.state).toBe("agreement");
    expect(h.client.agreement?.version).toBe("v2");
    expect(h.socket.count("join")).toBe(0);
    await h.client.acceptAgreement();
    expect(h.socket.last("agreement.accept")?.payload).toEqual({ version: "v2" });
    expect(h.client.state).toBe("joined");
  });

  it("drops stale and duplicate snapshots by version", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.snapshot", snapshot({ version: 5, phase: "questions" }));
    h.socket.fire("room.snapshot", snapshot({ version: 4, phase: "presentation" }));
    h.socket.fire("room.snapshot", snapshot({ version: 5, phase: "sit_back" }));
    expect(h.client.snapshot?.phase).toBe("questions");
    expect(h.snapshots.map((s) => s.version)).toEqual([1, 5]);
  });

  it("ignores a malformed snapshot", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.snapshot", { version: "x" });
    expect(h.client.snapshot?.version).toBe(1);
  });

  it("fails with the server's code when the join token is refused before the lobby opens", async () => {
    h = makeHarness({ tokenError: new CircleError("not_open", "not yet", 409) });
    await h.client.start();
    expect(h.client.state).toBe("failed");
    expect(h.client.error?.code).toBe("not_open");
    expect(h.socket.connectCalls).toBe(0);
  });

  it("shows reconnecting on a drop and rejoins with a fresh token as the same person", async () => {
    const rejoined: Snapshot[] = [];
    h.client.events.on("rejoined", (s) => rejoined.push(s));
    await h.client.start();
    await flush();
    h.socket.transportDrop();
    expect(h.client.state).toBe("reconnecting");
    h.socket.connect(); // socket.io's own reconnection
    await flush();
    expect(h.client.state).toBe("joined");
    expect(h.socket.tokens).toEqual(["token-1", "token-2"]);
    expect(h.socket.count("hello")).toBe(2);
    expect(rejoined).toHaveLength(1);
    expect(h.states).toEqual(["connecting", "joining", "joined", "reconnecting", "joining", "joined"]);
  });

  it("accepts a lower version after a rejoin (the server may have restarted)", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.snapshot", snapshot({ version: 40 }));
    h.socket.transportDrop();
    h.socket.connect();
    await flush();
    expect(h.client.snapshot?.version).toBe(2);
    h.socket.fire("room.snapshot", snapshot({ version: 3, phase: "sit_back" }));
    expect(h.client.snapshot?.phase).toBe("sit_back");
  });

  it("retries with a new token when the server refuses an expired one", async () => {
    await h.client.start();
    await flush();
    h.socket.transportDrop();
    h.socket.connectResult = () => h.socket.serverRefuse("gone", "token expired");
    h.socket.connect();
    await flush();
    expect(h.client.state).toBe("reconnecting");
    const retries = h.timers.filter((t) => t.ms < 10_000);
    expect(retries).toHaveLength(1);
    h.socket.connectResult = () => h.socket.serverAccept();
    retries[0]?.fn();
    await flush();
    expect(h.client.state).toBe("joined");
    expect(h.socket.tokens).toEqual(["token-1", "token-2", "token-3"]);
  });

  it("keeps retrying with back-off and fresh tokens while the room moves between servers", async () => {
    await h.client.start();
    await flush();
    h.socket.transportDrop();
    // The room's server stopped: the connection is refused for now, three times.
    h.socket.connectResult = () => h.socket.serverRefuse("room_moving", "moving");
    for (let i = 0; i < 3; i += 1) {
      h.socket.connect();
      await flush();
      expect(h.client.state).toBe("reconnecting");
    }
    const waits = h.timers.filter((t) => t.ms !== 10_000).map((t) => t.ms);
    // 0.5 s, 1 s, 2 s (retry-policy.json), each scaled by 0.5-1.5
    expect(waits[0]).toBeGreaterThanOrEqual(250);
    expect(waits[0]).toBeLessThanOrEqual(750);
    expect(waits[2]).toBeGreaterThanOrEqual(1000);
    expect(waits[2]).toBeLessThanOrEqual(3000);
    h.socket.connectResult = () => h.socket.serverAccept();
    h.timers.at(-1)?.fn();
    await flush();
    expect(h.client.state).toBe("joined");
    expect(new Set(h.socket.tokens).size).toBe(h.socket.tokens.length); // a fresh token each time
    expect(h.client.error).toBeNull();
  });

  it("retries a join refused for now (wrong_node, room_moving) instead of stopping", async () => {
    let refusals = 2;
    const base = h.socket.autoReply;
    h.socket.autoReply = (event, payload) => {
      if (event === "join" && refusals > 0) {
        refusals -= 1;
        return { ok: false, error: { code: refusals ? "wrong_node" : "room_moving", message: "moving" } };
      }
      return base?.(event, payload);
    };
    await h.client.start();
    await flush();
    expect(h.client.state).toBe("reconnecting");
    h.timers.at(-1)?.fn();
    await flush();
    expect(h.client.state).toBe("reconnecting");
    h.timers.at(-1)?.fn();
    await flush();
    expect(h.client.state).toBe("joined");
    expect(h.states).not.toContain("failed");
    expect(h.socket.tokens).toEqual(["token-1", "token-2", "token-3"]);
  });

  it("keeps retrying while no join token can be fetched for a passing reason", async () => {
    let failing = 5;
    h = makeHarness();
    await h.client.start();
    await flush();
    const provider = h.client as unknown as { opts: { tokenProvider: () => Promise<string> } };
    const real = provider.opts.tokenProvider;
    provider.opts.tokenProvider = async () => {
      if (failing > 0) {
        failing -= 1;
        throw new CircleError("error", "Failed to fetch");
      }
      return real();
    };
    h.socket.transportDrop();
    h.socket.connectResult = (token) =>
      token === "" ? h.socket.serverRefuse("unauthenticated", "no token") : h.socket.serverAccept();
    for (let i = 0; i < 6 && h.client.state !== "joined"; i += 1) {
      h.timers.filter((t) => t.ms !== 10_000).at(-1)?.fn();
      if (i === 0) h.socket.connect();
      await flush();
      await flush();
    }
    expect(h.states).not.toContain("failed");
    expect(h.client.state).toBe("joined");
  });

  it("fails when the server refuses for good (not enrolled)", async () => {
    h.socket.connectResult = () => h.socket.serverRefuse("forbidden", "not enrolled");
    await h.client.start();
    await flush();
    expect(h.client.state).toBe("failed");
    expect(h.client.error?.code).toBe("forbidden");
  });

  it("reconnects by itself after the server closed the socket without ending the room", async () => {
    await h.client.start();
    await flush();
    h.socket.connected = false;
    h.socket.active = false;
    h.socket.fire("disconnect", "io server disconnect");
    expect(h.client.state).toBe("reconnecting");
    h.timers.filter((t) => t.ms < 10_000).at(-1)?.fn();
    await flush();
    expect(h.client.state).toBe("joined");
  });

  it("ends on room.ended and does not reconnect", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.ended", { reason: "leader_ended" });
    expect(h.client.state).toBe("ended");
    expect(h.socket.connected).toBe(false);
  });

  it("stops on room.removed with the server's code and does not reconnect", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.removed", { ok: false, error: { code: "removed", message: "You are no longer enrolled in this group." } });
    expect(h.client.state).toBe("failed");
    expect(h.client.error?.code).toBe("removed");
    expect(h.socket.connected).toBe(false);
    h.socket.fire("disconnect", "io server disconnect");
    expect(h.client.state).toBe("failed");
    expect(h.timers.filter((t) => t.ms < 10_000)).toHaveLength(0);
  });

  it("asks for a fresh token when one was used already (tokens are single-use)", async () => {
    await h.client.start();
    await flush();
    h.socket.transportDrop();
    h.socket.connectResult = () => h.socket.serverRefuse("token_used", "used already");
    h.socket.connect();
    await flush();
    expect(h.client.state).toBe("reconnecting");
  });

  it("ends when a snapshot says ended", async () => {
    await h.client.start();
    await flush();
    h.socket.fire("room.snapshot", snapshot({ version: 9, ended: true }));
    expect(h.client.state).toBe("ended");
  });

  it("sends commands with their payloads and reports refusals", async () => {
    await h.client.start();
    await flush();
    const refused: string[] = [];
    h.client.events.on("refused", (r) => refused.push(`${r.event}:${r.error.code}`));
    h.socket.autoReply = (event) =>
      event === "mic.set" ? { ok: false, error: { code: "protocol", message: "sit-back" } } : { ok: true };
    await h.client.raiseHand();
    expect(h.socket.last("hand.raise")?.payload).toEqual({});
    await expect(h.client.setMic(false)).rejects.toMatchObject({ code: "protocol" });
    expect(h.socket.last("mic.set")?.payload).toEqual({ muted: false });
    expect(refused).toEqual(["mic.set:protocol"]);
    await h.client.leaderCommand({ command: "adjust", seconds: 60 });
    expect(h.socket.last("protocol.command")?.payload).toEqual({ command: "adjust", seconds: 60 });
    await h.client.leaderCommand({ command: "accept_hand", person_id: "2" });
    expect(h.socket.last("protocol.command")?.payload).toEqual({ command: "accept_hand", person_id: "2" });
  });

  it("refuses an oversized note without sending it", async () => {
    await h.client.start();
    await flush();
    await expect(h.client.sendNote("x".repeat(4001))).rejects.toMatchObject({ code: "too_large" });
    expect(h.socket.count("leader.note")).toBe(0);
  });

  it("counts a note's characters as the server does (an emoji is one, not two)", async () => {
    await h.client.start();
    await flush();
    await h.client.sendNote("\u{1F600}".repeat(4000));
    expect(h.socket.count("leader.note")).toBe(1);
    await expect(h.client.sendNote("\u0641".repeat(4001))).rejects.toMatchObject({ code: "too_large" });
  });

  it("times out a command whose ack never comes", async () => {
    await h.client.start();
    await flush();
    h.socket.autoReply = () => undefined;
    const p = h.client.lowerHand();
    h.timers.at(-1)?.fn();
    await expect(p).rejects.toMatchObject({ code: "timeout" });
  });

  it("takes the room's current note from the join answer (a leader who reloads keeps it)", async () => {
    h = makeHarness({ joinNote: { text: "keep an eye on Sara", version: 4, by: "1" } });
    const seen: string[] = [];
    h.client.events.on("note", (n) => seen.push(n.text));
    await h.client.start();
    await flush();
    expect(seen).toEqual(["keep an eye on Sara"]);
    expect(h.client.note).toEqual({ text: "keep an eye on Sara", version: 4 });
    h.socket.fire("room.note", { text: "stale", version: 3 });
    expect(h.client.note?.text).toBe("keep an eye on Sara");
  });

  it("relays notes, offers, candidates and the active speaker", async () => {
    await h.client.start();
    await flush();
    const seen: string[] = [];
    h.client.events.on("note", (n) => seen.push(`note:${n.text}`));
    h.client.events.on("offer", (o) => seen.push(`offer:${o.tracks.length}`));
    h.client.events.on("candidate", (c) => seen.push(`cand:${c.sdpMid ?? ""}`));
    h.client.events.on("speaker", (p) => seen.push(`speaker:${p ?? "none"}`));
    h.socket.fire("room.note", { text: "watch the time", version: 2 });
    h.socket.fire("room.note", { text: "older", version: 1 });
    h.socket.fire("media.offer", { sdp: "v=0", type: "offer", tracks: [{ mid: "0", person_id: 1, kind: "audio" }] });
    h.socket.fire("media.candidate", { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0" });
    h.socket.fire("media.speaker", { person_id: "2" });
    h.socket.fire("media.speaker", { person_id: null });
    expect(seen).toEqual(["note:watch the time", "offer:1", "cand:0", "speaker:2", "speaker:none"]);
    expect(h.client.note?.text).toBe("watch the time");
  });

  it("holds media answers and candidates until the join is acknowledged", async () => {
    let releaseJoin: (() => void) | null = null;
    const reply = h.socket.autoReply;
    h.socket.autoReply = (event, payload) => {
      if (event === "join") {
        const ack = h.socket.emitted.at(-1)?.ack;
        releaseJoin = () => ack?.(reply?.(event, payload));
        return undefined;
      }
      return reply?.(event, payload);
    };
    await h.client.start();
    await flush();
    expect(h.client.state).toBe("joining");
    // The offer arrives while the server is still processing the join.
    h.client.sendAnswer("v=0 answer");
    h.client.sendCandidate({ candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0" });
    expect(h.socket.count("media.answer")).toBe(0);
    releaseJoin!();
    await flush();
    expect(h.client.state).toBe("joined");
    expect(h.socket.emitted.map((e) => e.event).slice(-2)).toEqual(["media.answer", "media.candidate"]);
    h.client.sendCandidate({ candidate: "candidate:2 1 udp 1 127.0.0.1 10 typ host" });
    expect(h.socket.count("media.candidate")).toBe(2);
  });

  it("estimates server time from the hello round trip", async () => {
    h.clockMs.value = 1_000;
    const reply = h.socket.autoReply;
    h.socket.autoReply = (event, payload) => {
      if (event === "join") h.clockMs.value += 400; // a slower round trip: a worse sample
      return reply?.(event, payload);
    };
    await h.client.start();
    await flush();
    // hello sent at local 1000, answered at local 1000 with server 5000 -> offset 4000;
    // the join's snapshot time comes with a 400 ms round trip and is not trusted over it.
    expect(h.client.clock.offset).toBe(4_000);
  });

  it("leaves on purpose: tells the server and closes", async () => {
    await h.client.start();
    await flush();
    await h.client.leave();
    expect(h.socket.count("leave")).toBe(1);
    expect(h.client.state).toBe("left");
    expect(h.socket.connected).toBe(false);
  });
});
