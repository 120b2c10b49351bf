// What every questionnaire page needs: the locale, the REST clients, the content element.

import type { Api } from "../protocol/api";
import type { Locale } from "../protocol/types";
import { type FormsApi } from "./forms-api";
import { type QKey, qt } from "./messages";

export interface PageContext {
  readonly locale: Locale;
  readonly forms: FormsApi;
  readonly api: Api;
  readonly content: HTMLElement;
  t(key: QKey, params?: Readonly<Record<string, string | number>>): string;
  when(iso: string): string;
  go(hash: string): void;
}

export function intlTag(locale: Locale): string {
  return locale === "fa" ? "fa-IR" : locale === "nl" ? "nl-NL" : "en-GB";
}

export function makeContext(locale: Locale, api: Api, forms: FormsApi, content: HTMLElement, go: (hash: string) => void): PageContext {
  const fmt = new Intl.DateTimeFormat(intlTag(locale), { dateStyle: "medium", timeStyle: "short" });
  return {
    locale,
    forms,
    api,
    content,
    t: (key, params) => qt(locale, key, params),
    when: (iso) => fmt.format(new Date(iso)),
    go,
  };
}
