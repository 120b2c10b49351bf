import { describe, expect, it } from "vitest";
import { type MediaHealth, MediaRecovery, type Timers } from "../src/protocol/media-recovery";
import { MediaSession } from "../src/protocol/media";
import { FakePeer, offerSdp } from "./fakes";

/** Timers under the test's control: `advance(ms)` fires what is due. */
class ManualTimers implements Timers {
  now = 0;
  private next = 1;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const ready = [...this.due.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!ready) break;
      this.due.delete(ready[0]);
      this.now = ready[1].at;
      ready[1].fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.due.size;
  }
}

const POLICY = { disconnectedRestartMs: 12_000, restartTimeoutMs: 5_000, maxRestarts: 3 };

function recovery() {
  const timers = new ManualTimers();
  const health: MediaHealth[] = [];
  let restarts = 0;
  const r = new MediaRecovery(() => (restarts += 1), (h) => health.push(h), timers, POLICY);
  return { r, timers, health, restarts: () => restarts };
}

describe("MediaRecovery", () => {
  it("says reconnecting on disconnected and nothing more when the same connection heals", () => {
    const t = recovery();
    t.r.onState("connecting");
    t.r.onState("connected");
    t.r.onState("disconnected");
    expect(t.r.health).toBe("reconnecting");
    t.timers.advance(10_000);
    t.r.onState("connected");
    expect(t.health).toEqual(["reconnecting", "ok"]);
    expect(t.restarts()).toBe(0);
    expect(t.timers.pending).toBe(0);
  });

  it("asks for a fresh connection when disconnected lasts, and again if that one never connects", () => {
    const t = recovery();
    t.r.onState("connected");
    t.r.onState("disconnected");
    t.timers.advance(11_999);
    expect(t.restarts()).toBe(0);
    t.timers.advance(1);
    expect(t.restarts()).toBe(1);
    t.r.onState("new"); // the fresh connection is on its way
    t.r.onState("connecting");
    expect(t.r.health).toBe("reconnecting");
    t.timers.advance(5_000);
    expect(t.restarts()).toBe(2);
    t.timers.advance(9_999); // twice as long before the next one
    expect(t.restarts()).toBe(2);
    t.timers.advance(1);
    expect(t.restarts()).toBe(3);
    t.timers.advance(60_000); // the limit: no more, and the person is told
    expect(t.restarts()).toBe(3);
    expect(t.r.health).toBe("lost");
    t.r.onState("connected");
    expect(t.r.health).toBe("ok");
    expect(t.timers.pending).toBe(0);
  });

  it("asks at once on failed, gives up after the limit, and starts over once connected", () => {
    const t = recovery();
    t.r.onState("failed");
    expect(t.restarts()).toBe(1);
    t.r.onState("failed");
    t.r.onState("failed");
    expect(t.restarts()).toBe(3);
    t.r.onState("failed");
    expect(t.restarts()).toBe(3);
    expect(t.r.health).toBe("lost");
    t.timers.advance(60_000);
    expect(t.restarts()).toBe(3);
    t.r.onState("connected"); // a reload or the server's own restart got through after all
    expect(t.r.health).toBe("ok");
    t.r.onState("failed");
    expect(t.restarts()).toBe(4);
  });
});

describe("MediaSession recovery", () => {
  it("reports health from the current peer, asks the server, and follows its fresh offer", async () => {
    const timers = new ManualTimers();
    const peers: FakePeer[] = [];
    let restarts = 0;
    const media = new MediaSession(
      () => {
        const p = new FakePeer();
        peers.push(p);
        return p;
      },
      { sendAnswer: () => undefined, sendCandidate: () => undefined, requestMediaRestart: () => (restarts += 1) },
      () => "3",
      [],
      () => undefined,
      { timers, policy: POLICY },
    );
    const health: MediaHealth[] = [];
    media.events.on("health", (h) => health.push(h));
    await media.handleOffer({ sdp: offerSdp([["0", "audio"]], "sha-256 AA"), type: "offer", tracks: [] });
    const first = peers[0]!;
    first.connectionState = "connected";
    first.onconnectionstatechange?.();
    first.connectionState = "failed";
    first.onconnectionstatechange?.();
    expect(media.health).toBe("reconnecting");
    expect(restarts).toBe(1);
    // the server's fresh connection: a new identity, a new peer here
    await media.handleOffer({ sdp: offerSdp([["0", "audio"]], "sha-256 BB"), type: "offer", tracks: [] });
    expect(peers).toHaveLength(2);
    expect(first.closed).toBe(true);
    const second = peers[1]!;
    second.connectionState = "connected";
    second.onconnectionstatechange?.();
    expect(health).toEqual(["reconnecting", "ok"]);
    expect(timers.pending).toBe(0);
    media.close();
  });
});
