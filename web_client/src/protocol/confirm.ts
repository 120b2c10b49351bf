// Confirming a series ("I will take part"): which series a member can confirm, and the state of
// each confirmation. No DOM. The server has no read endpoint for a member's own confirmation
// (only coordinators list them), so the state starts "unknown" and becomes "confirmed" from the
// answer to POST /api/series/{id}/confirm, which is idempotent and says whether it was new.

import type { Api } from "./api";
import { Emitter } from "./emitter";
import { CircleError, type SessionSummary } from "./types";

export interface SeriesEntry {
  series_id: string;
  group_name: string;
  /** ISO start of the next session of the series still to come. */
  next_starts_at: string;
  upcoming: number;
}

/** The series a member is in that still have sessions to come, soonest first. */
export function seriesToConfirm(sessions: readonly SessionSummary[], nowMs: number): SeriesEntry[] {
  const by = new Map<string, SeriesEntry>();
  for (const s of sessions) {
    if (s.series_id === null || s.series_id === undefined) continue;
    if (s.role !== "member") continue;
    if (s.status === "cancelled" || s.status === "ended") continue;
    if (Date.parse(s.ends_at) <= nowMs) continue;
    const id = String(s.series_id);
    const entry = by.get(id);
    if (!entry) {
      by.set(id, { series_id: id, group_name: s.group_name, next_starts_at: s.starts_at, upcoming: 1 });
      continue;
    }
    entry.upcoming += 1;
    if (Date.parse(s.starts_at) < Date.parse(entry.next_starts_at)) entry.next_starts_at = s.starts_at;
  }
  return [...by.values()].sort((a, b) => Date.parse(a.next_starts_at) - Date.parse(b.next_starts_at));
}

export type ConfirmState =
  | { kind: "unknown" }
  | { kind: "confirming" }
  | { kind: "confirmed"; already: boolean }
  | { kind: "failed"; code: string; message: string };

export interface ConfirmEvents {
  change: { seriesId: string; state: ConfirmState };
}

/** The member's confirmations for this page's lifetime; one request at a time per series. */
export class SeriesConfirmations {
  readonly events = new Emitter<ConfirmEvents>();
  private readonly states = new Map<string, ConfirmState>();

  constructor(private readonly api: Pick<Api, "confirmSeries">) {}

  state(seriesId: string): ConfirmState {
    return this.states.get(seriesId) ?? { kind: "unknown" };
  }

  async confirm(seriesId: string): Promise<ConfirmState> {
    const current = this.state(seriesId);
    if (current.kind === "confirming" || current.kind === "confirmed") return current;
    this.set(seriesId, { kind: "confirming" });
    try {
      const r = await this.api.confirmSeries(seriesId);
      return this.set(seriesId, { kind: "confirmed", already: !r.new });
    } catch (e) {
      const err = e instanceof CircleError ? e : new CircleError("network", String(e));
      return this.set(seriesId, { kind: "failed", code: err.code, message: err.message });
    }
  }

  private set(seriesId: string, state: ConfirmState): ConfirmState {
    this.states.set(seriesId, state);
    this.events.emit("change", { seriesId, state });
    return state;
  }
}
