// Date entry that matches the calendar the page shows: Solar Hijri (year, month, day) in
// Persian, the browser's date field otherwise. The value is always an ISO Gregorian date.

import type { I18n } from "../i18n";
import { h } from "../ui/dom";

const PERSIAN = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", { timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric" });

/** The Solar Hijri [year, month, day] of a Gregorian ISO date. */
export function toJalali(iso: string): [number, number, number] {
  const parts = PERSIAN.formatToParts(Date.parse(`${iso}T00:00:00Z`));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? "0");
  return [get("year"), get("month"), get("day")];
}

function dayNumber(y: number, m: number, d: number): number {
  return y * 400 + m * 32 + d; // only compared, never subtracted across months
}

/** The Gregorian ISO date of a Solar Hijri date (null when the day does not exist). */
export function fromJalali(y: number, m: number, d: number): string | null {
  // Farvardin 1 falls on 20-21 March; estimate, then walk to the exact day.
  const offset = m <= 6 ? (m - 1) * 31 : 186 + (m - 7) * 30;
  let ms = Date.UTC(y + 621, 2, 20) + (offset + d - 1) * 86_400_000;
  for (let i = 0; i < 4; i++) {
    const iso = new Date(ms).toISOString().slice(0, 10);
    const [jy, jm, jd] = toJalali(iso);
    if (jy === y && jm === m && jd === d) return iso;
    ms += (dayNumber(y, m, d) > dayNumber(jy, jm, jd) ? 1 : -1) * 86_400_000;
  }
  return null;
}

export interface DateField {
  el: HTMLElement;
  value(): string;
}

/** A date entry labelled ``label``; ``initial`` is an ISO date (or empty). */
export function dateField(i18n: I18n, label: string, initial: string, name = "date", required = false): DateField {
  if (i18n.locale !== "fa") {
    const input = h("input", { type: "date", name, value: initial, "aria-label": label, required });
    return { el: input, value: () => input.value };
  }
  const start = initial || new Date().toISOString().slice(0, 10);
  const [jy, jm, jd] = toJalali(start);
  const months = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { month: "long", timeZone: "UTC" });
  const monthName = (m: number): string => {
    const iso = fromJalali(jy, m, 1) ?? start;
    return months.format(Date.parse(`${iso}T00:00:00Z`));
  };
  const opt = (v: number, text: string, selected: boolean): HTMLOptionElement => h("option", { value: String(v), text, selected });
  const day = h("select", { name: `${name}-day`, "aria-label": i18n.t("coord.date.day", { field: label }) },
    ...Array.from({ length: 31 }, (_, i) => opt(i + 1, i18n.number(i + 1), i + 1 === jd)));
  const month = h("select", { name: `${name}-month`, "aria-label": i18n.t("coord.date.month", { field: label }) },
    ...Array.from({ length: 12 }, (_, i) => opt(i + 1, monthName(i + 1), i + 1 === jm)));
  const year = h("select", { name: `${name}-year`, "aria-label": i18n.t("coord.date.year", { field: label }) },
    ...[jy - 1, jy, jy + 1, jy + 2].map((y) => opt(y, new Intl.NumberFormat("fa-IR", { useGrouping: false }).format(y), y === jy)));
  const el = h("span", { class: "jalali", role: "group", "aria-label": label, "data-calendar": "persian" }, day, month, year);
  return { el, value: () => fromJalali(Number(year.value), Number(month.value), Number(day.value)) ?? "" };
}

/** An ISO date shown in the page's calendar (Solar Hijri in Persian). */
export function showDate(i18n: I18n, iso: string): string {
  return new Intl.DateTimeFormat(i18n.intlTag, { timeZone: "UTC", weekday: "short", day: "numeric", month: "long", year: "numeric" })
    .format(Date.parse(`${iso}T00:00:00Z`));
}
