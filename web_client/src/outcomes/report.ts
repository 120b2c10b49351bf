// The outcome report as the server sends it (GET /api/outcomes?...&points=true) and the pure
// shaping the plots need (no DOM: unit-tested).

export type Tp = "pre" | "post" | "followup";
export const TIMEPOINTS: readonly Tp[] = ["pre", "post", "followup"];

export interface ReportRow {
  instrument: string;
  instrument_versions: string;
  score: string;
  comparison: string;
  higher_is: string;
  n_pairs: number;
  pre_mean: number | null;
  pre_sd: number | null;
  post_mean: number | null;
  post_sd: number | null;
  mean_change: number | null;
  ci95_low: number | null;
  ci95_high: number | null;
  p_asymptotic: number | null;
  p_exact: number | null;
  p_t: number | null;
  d_z: number | null;
  [key: string]: unknown;
}

export interface Completion {
  instrument: string;
  timepoint: string;
  participants: number;
  submitted: number;
  rate: number | null;
}

export interface Point {
  instrument: string;
  score: string;
  person_code: string;
  pre: number | null;
  post: number | null;
  followup: number | null;
}

export interface Report {
  scope: { kind: string; id: number; label: string; protocol: string | null; profession: string | null };
  generated_at: string;
  rows: ReportRow[];
  completion: Completion[];
  warnings: string[];
  points?: Point[];
}

export interface Scope {
  kind: "series" | "group" | "organisation" | "cohort";
  id: number;
  protocol?: string;
  profession?: string;
}

export function reportQuery(scope: Scope, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ [scope.kind]: String(scope.id), ...extra });
  if (scope.protocol) q.set("protocol", scope.protocol);
  if (scope.profession) q.set("profession", scope.profession);
  return q.toString();
}

/** Instrument and score pairs that have points, in report order. */
export function measures(points: readonly Point[]): { instrument: string; score: string }[] {
  const seen = new Set<string>();
  const out: { instrument: string; score: string }[] = [];
  for (const p of points) {
    const key = `${p.instrument}\u0000${p.score}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ instrument: p.instrument, score: p.score });
    }
  }
  return out;
}

/** One line per pseudonymous member with both pre and post: long format for a line chart. */
export function pairedLines(points: readonly Point[], instrument: string, score: string): { code: string; timepoint: Tp; value: number }[] {
  const out: { code: string; timepoint: Tp; value: number }[] = [];
  for (const p of points) {
    if (p.instrument !== instrument || p.score !== score || p.pre === null || p.post === null) continue;
    out.push({ code: p.person_code, timepoint: "pre", value: p.pre });
    out.push({ code: p.person_code, timepoint: "post", value: p.post });
  }
  return out;
}

/** Every observed value per timepoint (paired or not): long format for a distribution plot. */
export function distribution(points: readonly Point[], instrument: string, score: string): { timepoint: Tp; value: number }[] {
  const out: { timepoint: Tp; value: number }[] = [];
  for (const p of points) {
    if (p.instrument !== instrument || p.score !== score) continue;
    for (const tp of TIMEPOINTS) {
      const v = p[tp];
      if (v !== null) out.push({ timepoint: tp, value: v });
    }
  }
  return out;
}

export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits);
}

export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined) return "–";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}
