// Which session to show and whether its lobby is open: pure functions of the session list and now.

import type { SessionSummary } from "./types";

export type Availability =
  | { kind: "wait"; opensAtMs: number; startsAtMs: number }
  | { kind: "open"; startsAtMs: number }
  | { kind: "ended" }
  | { kind: "cancelled" };

export function availability(s: SessionSummary, nowMs: number): Availability {
  const startsAtMs = Date.parse(s.starts_at);
  if (s.status === "cancelled") return { kind: "cancelled" };
  if (s.status === "ended") return { kind: "ended" };
  if (s.status === "open" || s.status === "live") return { kind: "open", startsAtMs };
  const opensAtMs = Date.parse(s.lobby_opens_at);
  const endsAtMs = Date.parse(s.ends_at);
  if (Number.isFinite(endsAtMs) && nowMs >= endsAtMs) return { kind: "ended" };
  if (Number.isFinite(opensAtMs) && nowMs < opensAtMs) {
    return { kind: "wait", opensAtMs, startsAtMs };
  }
  // Scheduled but past the lobby time: the server decides (join-token answers not_open if not).
  return { kind: "open", startsAtMs };
}

/**
 * The session a person most likely came for: the requested one if it is theirs; otherwise
 * one that is open or live now; otherwise the next one to come. Ended and cancelled sessions
 * are only chosen when asked for by id.
 */
export function pickSession(
  sessions: readonly SessionSummary[],
  nowMs: number,
  requestedId: string | null,
): SessionSummary | null {
  if (requestedId !== null) {
    // ids arrive as numbers on the wire (SessionSummaryOut), the query parameter is a string
    const found = sessions.find((s) => String(s.id) === requestedId);
    if (found) return found;
  }
  const live = sessions.filter((s) => availability(s, nowMs).kind === "open");
  const byStart = (a: SessionSummary, b: SessionSummary): number =>
    Date.parse(a.starts_at) - Date.parse(b.starts_at);
  if (live.length > 0) return [...live].sort(byStart)[0] ?? null;
  const upcoming = sessions.filter((s) => availability(s, nowMs).kind === "wait");
  return [...upcoming].sort(byStart)[0] ?? null;
}

/** Sessions still ahead or running, soonest first (for the list page). */
export function upcomingSessions(
  sessions: readonly SessionSummary[],
  nowMs: number,
): SessionSummary[] {
  return sessions
    .filter((s) => {
      const k = availability(s, nowMs).kind;
      return k === "open" || k === "wait";
    })
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
}
