// Message catalogues, locale choice, and locale-aware formatting of numbers, times and durations.
// No DOM here: the UI asks for strings and for the text direction.

import type { Locale } from "../protocol/types";
import { type Catalogue, type MessageKey, en } from "./en";
import { fa } from "./fa";
import { nl } from "./nl";

export type { MessageKey } from "./en";

export const LOCALES: readonly Locale[] = ["en", "fa", "nl"];
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = {
  en: "English",
  fa: "فارسی",
  nl: "Nederlands",
};

const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { en, fa, nl };

export function isLocale(x: unknown): x is Locale {
  return typeof x === "string" && (LOCALES as readonly string[]).includes(x);
}

/** The person's profile wins; then the browser's preferred languages; then English. */
export function chooseLocale(
  explicit: string | null,
  profile: string | null,
  browser: readonly string[],
): Locale {
  if (isLocale(explicit)) return explicit;
  if (isLocale(profile)) return profile;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLocale(base)) return base;
  }
  return "en";
}

export type Params = Readonly<Record<string, string | number>>;

export class I18n {
  readonly locale: Locale;
  readonly timeZone: string;
  private readonly catalogue: Catalogue;
  private readonly numberFmt: Intl.NumberFormat;
  private readonly twoDigits: Intl.NumberFormat;

  constructor(locale: Locale, timeZone: string) {
    this.locale = locale;
    this.timeZone = validTimeZone(timeZone) ? timeZone : "UTC";
    this.catalogue = CATALOGUES[locale];
    this.numberFmt = new Intl.NumberFormat(this.intlTag);
    this.twoDigits = new Intl.NumberFormat(this.intlTag, { minimumIntegerDigits: 2, useGrouping: false });
  }

  /** BCP 47 tag for Intl: Persian uses the Persian (Solar Hijri) calendar and Persian digits. */
  get intlTag(): string {
    return this.locale === "fa" ? "fa-IR" : this.locale === "nl" ? "nl-NL" : "en-GB";
  }

  get dir(): "rtl" | "ltr" {
    return this.locale === "fa" ? "rtl" : "ltr";
  }

  t(key: MessageKey, params: Params = {}): string {
    const template = this.catalogue[key] ?? en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (m, name: string) => {
      const v = params[name];
      if (v === undefined) return m;
      return typeof v === "number" ? this.number(v) : v;
    });
  }

  /** A message whose key is computed (e.g. from a phase name); null when there is none. */
  maybe(key: string, params: Params = {}): string | null {
    return this.has(key) ? this.t(key, params) : null;
  }

  has(key: string): key is MessageKey {
    return key in this.catalogue;
  }

  number(n: number): string {
    return this.numberFmt.format(n);
  }

  /** "12:05" or "1:02:05" with the locale's digits. */
  duration(parts: { h: number; m: number; s: number }): string {
    const sec = this.twoDigits.format(parts.s);
    if (parts.h > 0) {
      return `${this.number(parts.h)}:${this.twoDigits.format(parts.m)}:${sec}`;
    }
    return `${this.number(parts.m)}:${sec}`;
  }

  time(ms: number): string {
    return new Intl.DateTimeFormat(this.intlTag, {
      timeZone: this.timeZone,
      hour: "2-digit",
      minute: "2-digit",
    }).format(ms);
  }

  date(ms: number): string {
    return new Intl.DateTimeFormat(this.intlTag, {
      timeZone: this.timeZone,
      weekday: "long",
      day: "numeric",
      month: "long",
    }).format(ms);
  }

  /** Date and time in one, e.g. "Mon 7 Dec 2026, 19:00" (Persian: Solar Hijri, Persian digits). */
  dateTime(ms: number): string {
    return new Intl.DateTimeFormat(this.intlTag, {
      timeZone: this.timeZone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    }).format(ms);
  }

  /** The same language in another time zone (e.g. a group's, beside the viewer's own). */
  inZone(timeZone: string): I18n {
    return new I18n(this.locale, timeZone);
  }

  /** Weekday names Monday to Sunday in this language. */
  weekdays(): string[] {
    const fmt = new Intl.DateTimeFormat(this.intlTag, { weekday: "long", timeZone: "UTC" });
    // 2024-01-01 was a Monday.
    return [0, 1, 2, 3, 4, 5, 6].map((d) => fmt.format(Date.UTC(2024, 0, 1 + d)));
  }

  /** A readable name of the time zone, e.g. "Central European Standard Time". */
  zoneName(ms: number): string {
    const parts = new Intl.DateTimeFormat(this.intlTag, {
      timeZone: this.timeZone,
      timeZoneName: "long",
    }).formatToParts(ms);
    const name = parts.find((p) => p.type === "timeZoneName")?.value;
    return name ? `${name}, ${this.timeZone}` : this.timeZone;
  }
}

export function validTimeZone(tz: string | null | undefined): tz is string {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every key of the reference catalogue that a translation lacks or leaves empty. */
export function missingKeys(locale: Locale): string[] {
  const cat = CATALOGUES[locale];
  return (Object.keys(en) as MessageKey[]).filter((k) => !cat[k]);
}
