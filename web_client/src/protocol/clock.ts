// Server time as seen from the browser, and the phase countdown derived from it.
// Pure functions plus one small class; the caller passes the local time in.

import type { Snapshot } from "./types";

/**
 * Estimates the offset between the server clock and the local clock from request/reply pairs
 * (NTP style: the server's time is taken to be the midpoint of the round trip). The sample with
 * the shortest round trip wins, because it has the smallest possible error.
 */
export class ServerClock {
  private offsetMs = 0;
  private bestRttMs = Number.POSITIVE_INFINITY;

  /** Record a sample: local send time, local receive time, server time in the reply. */
  sample(sentLocalMs: number, receivedLocalMs: number, serverMs: number): void {
    const rtt = Math.max(0, receivedLocalMs - sentLocalMs);
    if (rtt <= this.bestRttMs) {
      this.bestRttMs = rtt;
      this.offsetMs = serverMs - (sentLocalMs + rtt / 2);
    }
  }

  /** A one-way sample (a pushed snapshot): used only while no round-trip sample exists. */
  hint(receivedLocalMs: number, serverMs: number): void {
    if (this.bestRttMs === Number.POSITIVE_INFINITY) this.offsetMs = serverMs - receivedLocalMs;
  }

  /** Forget round-trip samples (after a reconnect the path may have changed). */
  reset(): void {
    this.bestRttMs = Number.POSITIVE_INFINITY;
  }

  get offset(): number {
    return this.offsetMs;
  }

  now(localMs: number): number {
    return localMs + this.offsetMs;
  }
}

export type Countdown =
  | { kind: "untimed" }
  | { kind: "remaining"; ms: number; paused: boolean }
  | { kind: "overrun"; ms: number; paused: boolean };

/** The countdown of the current phase at server time `serverNowMs`. */
export function countdown(s: Snapshot, serverNowMs: number): Countdown {
  let left: number;
  if (s.paused) {
    // While paused the clock stands still at the moment of the snapshot.
    if (s.remaining_ms !== null) left = s.remaining_ms;
    else if (s.phase_ends_at_ms !== null) left = s.phase_ends_at_ms - s.server_time_ms;
    else return { kind: "untimed" };
  } else if (s.phase_ends_at_ms !== null) {
    left = s.phase_ends_at_ms - serverNowMs;
  } else if (s.remaining_ms !== null) {
    left = s.remaining_ms - (serverNowMs - s.server_time_ms);
  } else {
    return { kind: "untimed" };
  }
  if (left < 0 || (s.overrun && left <= 0)) {
    return { kind: "overrun", ms: Math.max(0, -left), paused: s.paused };
  }
  return { kind: "remaining", ms: left, paused: s.paused };
}

/** Split milliseconds into whole hours, minutes and seconds (seconds rounded up while counting down). */
export function splitDuration(ms: number, roundUp: boolean): { h: number; m: number; s: number } {
  const total = roundUp ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  const t = Math.max(0, total);
  return { h: Math.floor(t / 3600), m: Math.floor((t % 3600) / 60), s: t % 60 };
}
