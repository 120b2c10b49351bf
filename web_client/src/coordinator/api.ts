// The coordinator's REST calls: groups, people, invitations, series with preview, session
// changes, confirmations and the outbox. Made with the member client's REST client (CSRF header
// on every state change; a refusal is a CircleError carrying the envelope's details).

import { Api, csrfCookie } from "../protocol/api";

export type Weekday = "MO" | "TU" | "WE" | "TH" | "FR" | "SA" | "SU";
export type Protocol = "balint" | "dynamic" | "peer_support" | "workshop" | "coaching" | "self_help";
/** A group kind's member bounds from its protocol table (`GET /api/protocols`). */
export interface ProtocolBounds { protocol: Protocol; members_low: number; members_high: number; members_default: number }

export interface Organisation { id: number; name: string }
export interface Group {
  id: number; organisation_id: number; name: string; protocol: Protocol;
  capacity: number; min_members: number; member_count: number;
}
export interface Member {
  person_id: number; display_name: string; role: string; status: string; email?: string | null;
}
export interface Person { id: number; display_name: string; email: string }
export interface SeriesIn {
  title: string; sessions: number; weekdays: Weekday[]; local_time: string;
  start_date: string; duration_minutes: number; timezone: string; exclude_dates?: string[];
}
export interface Problem { kind: "refuse" | "warn"; code: string; message: string; session_index?: number | null }
export interface PreviewSession {
  index: number; starts_at: number; local: string; weekday: string; utc_offset: string;
  duration_minutes: number;
}
export interface Skipped { date: string; reason: "excluded" | "holiday"; name: string }
export interface Preview { ok: boolean; members: number; sessions: PreviewSession[]; problems: Problem[]; skipped: Skipped[] }
export interface Holiday { date: string; name: string }
export interface OrgCalendar { timezone: string | null; holidays: Holiday[] }
export interface Reminders { offsets_minutes: number[]; default: boolean }
export interface RowProblem { row: number; field: string; message: string }
export interface ImportResult { created: number; enrolled: number; waiting: number; people: { row: number; person_id: number; new: boolean; status: string }[] }
export interface OutboxStatus { mail_configured: boolean; not_emailed: number; queued: number; failed: number }
export interface Session {
  id: number; series_id: number | null; index: number; starts_at: string; local_start: string;
  my_local_start: string; timezone: string; duration_minutes: number; status: string;
  sequence: number; is_makeup: boolean;
}
export interface Series {
  id: number; group_id: number; title: string; timezone: string; planned_sessions: number;
  sessions: Session[]; problems: Problem[];
}
export interface Confirmation {
  person_id: number; display_name: string; role: string; status: string; confirmed_at: string | null;
}
export interface OutboxMessage {
  id: number; to_address: string; locale: string; kind: string; subject: string; body: string;
  status: string; attempts: number; last_error: string | null; created_at: string;
  recipient_name: string | null; delivery: "emailed" | "not_emailed" | "pending" | "failed";
}

const client = new Api(
  (url, init) => fetch(url, init),
  () => csrfCookie(document.cookie),
);

function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return client.request<T>(method, path, body);
}

export const api = {
  /** Sets the CSRF cookie (any response does). */
  prime: () => fetch("/healthz", { credentials: "same-origin" }),
  me: () =>
    call<{ id: number; display_name: string; organisation_id: number; roles: string[]; locale: string | null; timezone: string | null }>("GET", "/api/me"),
  login: (email: string, password: string) => call("POST", "/api/auth/login", { email, password }),
  organisations: () => call<Organisation[]>("GET", "/api/organisations"),
  protocols: () => call<ProtocolBounds[]>("GET", "/api/protocols"),
  groups: (org: number) => call<Group[]>("GET", `/api/organisations/${org}/groups`),
  createGroup: (org: number, name: string, protocol: Protocol) =>
    call<Group>("POST", `/api/organisations/${org}/groups`, { name, protocol }),
  people: (org: number) => call<Person[]>("GET", `/api/organisations/${org}/people`),
  members: (group: number) => call<Member[]>("GET", `/api/groups/${group}/members`),
  enrol: (group: number, personId: number, role = "member") =>
    call<{ person_id: number; status: string }>("POST", `/api/groups/${group}/enrolments`, { person_id: personId, role }),
  setRole: (group: number, personId: number, role: string) =>
    call<{ person_id: number; role: string }>("PATCH", `/api/groups/${group}/enrolments/${personId}`, { role }),
  importCsv: (group: number, csv: string) => call<ImportResult>("POST", `/api/groups/${group}/import`, { csv }),
  reminders: (group: number) => call<Reminders>("GET", `/api/groups/${group}/reminders`),
  setReminders: (group: number, offsets: number[] | null) =>
    call<Reminders>("PUT", `/api/groups/${group}/reminders`, { offsets_minutes: offsets }),
  calendar: (org: number) => call<OrgCalendar>("GET", `/api/organisations/${org}/calendar`),
  setCalendar: (org: number, body: OrgCalendar) => call<OrgCalendar>("PUT", `/api/organisations/${org}/calendar`, body),
  outboxStatus: (org: number) => call<OutboxStatus>("GET", `/api/organisations/${org}/outbox/status`),
  restore: (session: number) => call<Session>("POST", `/api/sessions/${session}/restore`),
  withdraw: (group: number, personId: number) =>
    call("DELETE", `/api/groups/${group}/enrolments/${personId}`),
  invite: (personId: number) => call<{ url: string }>("POST", `/api/people/${personId}/invitation`),
  preview: (group: number, body: SeriesIn) => call<Preview>("POST", `/api/groups/${group}/series/preview`, body),
  book: (group: number, body: SeriesIn) => call<Series>("POST", `/api/groups/${group}/series`, body),
  series: (group: number) => call<Series[]>("GET", `/api/groups/${group}/series`),
  move: (session: number, date: string, localTime: string, note?: string) =>
    call<Session>("POST", `/api/sessions/${session}/move`, note ? { date, local_time: localTime, note } : { date, local_time: localTime }),
  cancel: (session: number, reason?: string) => call<Session>("POST", `/api/sessions/${session}/cancel`, reason ? { reason } : {}),
  cancelRest: (session: number, reason?: string) => call<Session[]>("POST", `/api/sessions/${session}/cancel-rest`, reason ? { reason } : {}),
  changeRest: (session: number, weekdays: Weekday[], localTime: string, startDate: string) =>
    call<Session[]>("POST", `/api/sessions/${session}/rest`, { weekdays, local_time: localTime, start_date: startDate }),
  makeup: (series: number, date: string, localTime: string) =>
    call<Session>("POST", `/api/series/${series}/makeup`, { date, local_time: localTime }),
  confirmations: (series: number) => call<Confirmation[]>("GET", `/api/series/${series}/confirmations`),
  outbox: (org: number) => call<OutboxMessage[]>("GET", `/api/organisations/${org}/outbox`),
};
