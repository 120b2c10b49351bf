// The attendance and scores REST calls (docs/attendance.md, docs/scores.md), on the member
// client's REST client (CSRF header on every state change; refusals are CircleErrors).

import { Api, readCookie } from "../protocol/api";

export type Status = "present" | "late" | "left_early" | "absent" | "excused";

export interface Cell {
  status: Status | null;
  derived_status: Status | null;
  minutes_present: number | null;
  reconnects: number | null;
  excused_ahead: boolean;
  excuse_reason?: string | null;
  corrections: { status: Status; reason: string; by: number | null; at: string }[];
}
export interface ReportSession {
  id: number; index: number; starts_at: string; status: string; held: boolean; moved: boolean;
  attendance_rate: number | null;
}
export interface ReportMember {
  person_id: number; display_name: string; role: string; sessions: Record<string, Cell | null>;
  attended: number; expected: number; attendance_rate: number | null;
}
export interface Report {
  series_id: number; group_id: number; title: string;
  period: { from: string | null; to: string | null };
  sessions: ReportSession[]; members: ReportMember[];
  regularity: { due: number; held_as_booked: number; moved: number; cancelled: number; rate: number | null };
}
export interface Term {
  term: string; name: string; weight: number; value: number | null; raw: number | null;
  points: number | null; source: string; detail: string; missing: boolean;
}
export interface Score {
  kind: "individual" | "group"; formula: string; period: { from: string; to: string };
  total: number; max_total: number; level: string; complete: boolean; missing: string[];
  terms: Term[]; person_id?: number; display_name?: string; role?: string;
}
export interface Scores { series_id: number; group_id: number; group: Score; members: Score[] }
export interface Excuse { session_id: number; person_id: number; declared_at: string }

const client = new Api(
  (url, init) => fetch(url, init),
  () => readCookie(document.cookie, "circle_csrf"),
);

export const attendanceApi = {
  prime: () => fetch("/healthz", { credentials: "same-origin" }),
  me: () => client.request<{ id: number; locale: string | null; timezone: string | null }>("GET", "/api/me"),
  report: (series: number) => client.request<Report>("GET", `/api/series/${series}/attendance`),
  scores: (series: number) => client.request<Scores>("GET", `/api/series/${series}/scores`),
  csvUrl: (series: number) => `/api/series/${series}/attendance.csv`,
  myExcuses: () => client.request<Excuse[]>("GET", "/api/me/excuses"),
  excuse: (session: number | string, reason: string | null) =>
    client.request<Excuse>("PUT", `/api/sessions/${session}/excuse`, reason ? { reason } : {}),
  withdraw: (session: number | string) => client.request<unknown>("DELETE", `/api/sessions/${session}/excuse`),
};
