// What the parts of the coordinator pages share: the language, the message after an action,
// errors in words, re-rendering.

import type { I18n, MessageKey } from "../i18n";
import { h } from "../ui/dom";
import { CircleError } from "../protocol/types";
import type { FlashMessage } from "./ui";

export interface Page {
  i18n: I18n;
  org: number;
  t(key: MessageKey, params?: Record<string, string | number>): string;
  message(e: unknown): string;
  /** Show ``msg`` after the page re-renders (and re-render). */
  done(msg: FlashMessage): Promise<void>;
  route(): Promise<void>;
}

/**
 * The server words its refusals in English. In English they are shown as worded (they carry the
 * exact limits); in Persian and Dutch a known code is shown from the catalogue instead: an error
 * code's `coord.error.<code>` where the member's wording does not fit a coordinator, else its
 * `error.<code>`.
 */
export function serverText(i18n: I18n, prefix: "coord.problem." | "error.", code: string, text: string, index?: number | null): string {
  if (i18n.locale === "en") return text;
  const own = prefix === "error." ? `coord.error.${code}` : null;
  const key = own !== null && i18n.has(own) ? own : `${prefix}${code}`;
  if (!i18n.has(key)) return text;
  const template = i18n.t(key);
  if (template.includes("{n}") && (index === null || index === undefined)) return text;
  return i18n.t(key, index === null || index === undefined ? {} : { n: index });
}

export function errorMessage(i18n: I18n, e: unknown): string {
  if (e instanceof CircleError) return serverText(i18n, "error.", e.code, e.message);
  return e instanceof Error ? e.message : String(e);
}

/** A catalogue key built from a server value (status, role, method); the raw value otherwise. */
export function label(i18n: I18n, prefix: string, value: string): string {
  return i18n.maybe(`${prefix}${value}`) ?? value.replace(/_/g, " ");
}

/** A date-time shown in the locale, with the machine-readable local wall time for tests and tools. */
export function when(i18n: I18n, iso: string | number, local?: string): HTMLElement {
  const ms = typeof iso === "number" ? iso : Date.parse(iso);
  return h("time", { datetime: local ?? new Date(ms).toISOString(), text: i18n.dateTime(ms) });
}

export function field(text: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { text }), input, hint ? h("small", { text: hint }) : null);
}

export function head(page: Page, keys: MessageKey[]): HTMLElement {
  return h("thead", {}, h("tr", {}, ...keys.map((k) => h("th", { scope: "col", text: page.t(k) }))));
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A styled checkbox with its label (48 px target). */
export function checkbox(text: string, value: string, checked = false, name?: string): { el: HTMLElement; box: HTMLInputElement } {
  const box = h("input", { type: "checkbox", value, checked, name });
  return { box, el: h("label", { class: "check" }, box, h("span", { text })) };
}
