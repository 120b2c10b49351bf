// The questionnaire REST client and the pure rules of a form (no DOM: runs in the unit tests).
// A form is reached signed in, or with the access token a redeemed e-mail link returned
// (header X-Form-Access, kept per form in the tab's sessionStorage so a reload resumes).

import type { Api } from "../protocol/api";
import { CircleError } from "../protocol/types";

export type FormState = "open" | "submitted" | "closed";
export type Timepoint = "pre" | "post" | "followup" | "checkin" | "evaluation";
export type AnswerValue = number | string;

export interface Choice {
  value: number;
  label: string;
  lang: string;
}

export interface Item {
  id: string;
  text: string;
  lang: string;
  type: "scale" | "text";
  required: boolean;
  choices: Choice[];
}

export interface Part {
  id: string;
  version: string;
  title: string;
  title_lang: string;
  instructions: string | null;
  instructions_lang: string | null;
  items: Item[];
  answers: Record<string, AnswerValue>;
}

export interface FormSummary {
  id: number;
  series_id: number;
  series_title: string;
  group_name: string;
  timepoint: Timepoint;
  state: FormState;
  opens_at: string | null;
  closes_at: string | null;
  instruments: string[];
  answered: number;
  required: number;
}

export interface Form extends FormSummary {
  parts: Part[];
}

export interface Help {
  text: string;
  leaders_told: boolean;
}

export interface AnswerResult {
  saved: boolean;
  answered: number;
  required: number;
  help: Help | null;
}

export interface Band {
  start: number;
  label: string;
}

export interface ScorePoint {
  timepoint: Timepoint;
  series_id: number | null;
  submitted_at: string | null;
  total: number | null;
  band: string | null;
  subscales: Record<string, number>;
}

export interface InstrumentScores {
  instrument: string;
  title: string;
  range: [number, number] | null;
  direction: "better" | "worse";
  bands: Band[];
  bands_source: string | null;
  points: ScorePoint[];
}

export interface Consent {
  research: boolean;
  given_at: string | null;
  withdrawn_at: string | null;
}

export interface Alert {
  id: number;
  group_id: number;
  person_id: number;
  person_name: string;
  instrument: string;
  created_at: string;
  acknowledged_at: string | null;
  acknowledged_by: number | null;
}

/** The fields a refusal names (`details.fields`: `phq9.item_9` -> its problem). */
export function refusedFields(e: unknown): Record<string, string> {
  const raw = e instanceof CircleError ? e.details["fields"] : undefined;
  const out: Record<string, string> = {};
  if (typeof raw === "object" && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k] = v;
  }
  return out;
}

/** Where the page was opened: a mailed link, a form by id, the leaders' alerts, or the list. */
export type Route =
  | { kind: "link"; token: string }
  | { kind: "form"; id: number }
  | { kind: "alerts"; groupId: number }
  | { kind: "mine" };

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, "");
  const [key, value = ""] = h.split("=", 2) as [string, string?];
  if (key === "form" && /^[A-Za-z0-9_\-.]{10,1024}$/.test(value)) return { kind: "link", token: value };
  if (key === "f" && /^[1-9][0-9]{0,9}$/.test(value)) return { kind: "form", id: Number(value) };
  if (key === "alerts" && /^[1-9][0-9]{0,9}$/.test(value)) return { kind: "alerts", groupId: Number(value) };
  return { kind: "mine" };
}

export function accessKey(formId: number): string {
  return `circle.form-access.${formId}`;
}

/** Required items not yet answered, as `instrument.item`, in the order of the form. */
export function missingItems(form: Pick<Form, "parts">): string[] {
  const out: string[] = [];
  for (const part of form.parts) {
    for (const item of part.items) {
      if (item.required && !(item.id in part.answers)) out.push(`${part.id}.${item.id}`);
    }
  }
  return out;
}

export function progress(form: Pick<Form, "parts">): { answered: number; required: number } {
  let answered = 0;
  let required = 0;
  for (const part of form.parts) {
    for (const item of part.items) {
      if (!item.required) continue;
      required += 1;
      if (item.id in part.answers) answered += 1;
    }
  }
  return { answered, required };
}

/** A copy of the form with one answer set (or cleared with null). */
export function withAnswer(form: Form, instrument: string, item: string, value: AnswerValue | null): Form {
  return {
    ...form,
    parts: form.parts.map((p) => {
      if (p.id !== instrument) return p;
      const answers = { ...p.answers };
      if (value === null) delete answers[item];
      else answers[item] = value;
      return { ...p, answers };
    }),
  };
}

/** The band a score falls in (bands hold scores >= from, up to the next band's from). */
export function bandOf(bands: readonly Band[], score: number): Band | null {
  let found: Band | null = null;
  for (const b of bands) if (score >= b.start) found = b;
  return found;
}

/** Band intervals for drawing: [from, to) with the last one closed at the range's top. */
export function bandIntervals(bands: readonly Band[], range: [number, number]): { from: number; to: number; label: string }[] {
  return bands.map((b, i) => ({ from: b.start, to: bands[i + 1]?.start ?? range[1], label: b.label }));
}

/** The questionnaire endpoints on the shared REST client; form calls carry the form's access
 *  token when the page has one (a redeemed e-mail link). */
export class FormsApi {
  constructor(
    private readonly api: Api,
    private readonly access: (formId: number) => string | null,
  ) {}

  redeem(token: string): Promise<{ form_id: number; access: string }> {
    return this.call("POST", "/api/forms/redeem", { token });
  }

  form(id: number, lang: string): Promise<Form> {
    return this.call("GET", `/api/forms/${id}?lang=${encodeURIComponent(lang)}`, undefined, id);
  }

  answer(id: number, instrument: string, item: string, value: AnswerValue | null): Promise<AnswerResult> {
    return this.call("PUT", `/api/forms/${id}/answers`, { instrument, item, value }, id);
  }

  submit(id: number): Promise<{ state: FormState }> {
    return this.call("POST", `/api/forms/${id}/submit`, {}, id);
  }

  mine(): Promise<FormSummary[]> {
    return this.call("GET", "/api/me/questionnaires");
  }

  scores(): Promise<InstrumentScores[]> {
    return this.call("GET", "/api/me/scores");
  }

  mailPref(): Promise<{ opted_out: boolean }> {
    return this.call("GET", "/api/me/questionnaire-mail");
  }

  setMailPref(optedOut: boolean): Promise<{ opted_out: boolean }> {
    return this.call("PUT", "/api/me/questionnaire-mail", { opted_out: optedOut });
  }

  consent(): Promise<Consent> {
    return this.call("GET", "/api/me/research-consent");
  }

  setConsent(research: boolean): Promise<Consent> {
    return this.call("PUT", "/api/me/research-consent", { research });
  }

  alerts(groupId: number): Promise<Alert[]> {
    return this.call("GET", `/api/groups/${groupId}/safety-alerts`);
  }

  acknowledge(alertId: number): Promise<Alert> {
    return this.call("POST", `/api/safety-alerts/${alertId}/acknowledge`, {});
  }

  private call<T>(method: string, path: string, body?: unknown, formId?: number): Promise<T> {
    const token = formId === undefined ? null : this.access(formId);
    return this.api.request<T>(method, path, body, token === null ? {} : { "X-Form-Access": token });
  }
}
