// What the page does when its media connection breaks (ICE or DTLS): never silent, and it
// recovers by itself. A pure state machine over the peer connection's `connectionState`, with
// the timers injected so it runs under Node.
//
// - "disconnected": the path went quiet (the browser's consent checks got no answer for a few
//   seconds). Health "reconnecting" at once, so the person sees it; ICE keeps checking on the
//   same connection, and most short cuts heal there. Still disconnected after
//   `disconnectedRestartMs`: ask the server for a fresh connection.
// - "failed": ask the server for a fresh connection at once.
// - A fresh connection that does not reach "connected" within `restartTimeoutMs`: ask again,
//   waiting twice as long each time (5, 10, 20, 40 s: a fresh connection made while the path
//   is still down starts its own retransmission back-off, so trying again soon after finds a
//   returning path quickly, while a long outage does not use up the server's budget), at most
//   `maxRestarts` times in a row (the server allows 5 in 5 minutes); after that the health is
//   "lost" (only a reload rejoins).
// - "connected": health "ok", the count starts over.
//
// An ICE restart proper (new credentials on the same connection) needs the offerer to restart,
// and the server's stack (aiortc 1.16) cannot: a fresh connection is the server's restart.

export type MediaHealth = "ok" | "reconnecting" | "lost";

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const browserTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RecoveryPolicy {
  disconnectedRestartMs: number;
  restartTimeoutMs: number;
  maxRestarts: number;
}

export const DEFAULT_RECOVERY: RecoveryPolicy = {
  disconnectedRestartMs: 12_000,
  restartTimeoutMs: 5_000,
  maxRestarts: 5,
};

export class MediaRecovery {
  private healthValue: MediaHealth = "ok";
  private restarts = 0;
  private timer: unknown = null;

  constructor(
    private readonly restart: () => void,
    private readonly onHealth: (health: MediaHealth) => void,
    private readonly timers: Timers = browserTimers,
    private readonly policy: RecoveryPolicy = DEFAULT_RECOVERY,
  ) {}

  get health(): MediaHealth {
    return this.healthValue;
  }

  /** The current peer connection's `connectionState` changed. */
  onState(state: string): void {
    switch (state) {
      case "connected":
        this.disarm();
        this.restarts = 0;
        this.setHealth("ok");
        return;
      case "disconnected":
        if (this.healthValue === "lost") return;
        this.setHealth("reconnecting");
        if (this.timer === null) this.arm(this.policy.disconnectedRestartMs);
        return;
      case "failed":
        if (this.healthValue === "lost") return;
        this.setHealth("reconnecting");
        this.disarm();
        this.requestRestart();
        return;
      default:
        return; // new, connecting (a fresh connection on its way), closed (ours, on reset)
    }
  }

  /** The session ended: no more timers. */
  stop(): void {
    this.disarm();
  }

  private requestRestart(): void {
    if (this.restarts >= this.policy.maxRestarts) {
      this.setHealth("lost");
      return;
    }
    this.restarts += 1;
    this.restart();
    this.arm(this.policy.restartTimeoutMs * 2 ** (this.restarts - 1));
  }

  private arm(ms: number): void {
    this.disarm();
    this.timer = this.timers.set(() => {
      this.timer = null;
      this.requestRestart();
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  private setHealth(health: MediaHealth): void {
    if (health === this.healthValue) return;
    this.healthValue = health;
    this.onHealth(health);
  }
}
