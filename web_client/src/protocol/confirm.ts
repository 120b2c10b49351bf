// Confirming a series ("I will take part"): which series a member can confirm, and the state of
// each confirmation. No DOM. GET /api/me/sessions says per session whether the member has
// confirmed its series (`series_confirmed`), which seeds the state; POST
// /api/series/{id}/confirm is idempotent and says whether the confirmation was new.

import type { Api } from "./api";
import { Emitter } from "./emitter";
import { CircleError, type SessionSummary } from "./types";

export interface SeriesEntry {
  series_id: string;
  group_name: string;
  /** ISO start of the next session of the series still to come. */
  next_starts_at: string;
  upcoming: number;
  /** The server says this member confirmed the series already. */
  confirmed: boolean;
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
    const confirmed = s.series_confirmed === true;
    const entry = by.get(id);
    if (!entry) {
      by.set(id, {
        series_id: id,
        group_name: s.group_name,
        next_starts_at: s.starts_at,
        upcoming: 1,
        confirmed,
      });
      continue;
    }
    entry.upcoming += 1;
    entry.confirmed ||= confirmed;
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

  /** Take what the server already knows: series confirmed before show as confirmed. */
  seed(entries: readonly SeriesEntry[]): void {
    for (const e of entries) {
      if (e.confirmed && this.state(e.series_id).kind === "unknown") {
        this.states.set(e.series_id, { kind: "confirmed", already: true });
      }
    }
  }

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
