// Booking a series: the form (time-zone picker defaulting to the organisation's zone, dates in
// the page's calendar, dates to skip), the server's preview with every warning it returns, and
// a confirmation once booked.

import { h } from "../ui/dom";
import { CircleError } from "../protocol/types";
import { api, type Group, type Preview, type SeriesIn, type Weekday } from "./api";
import { dateField, showDate } from "./dates";
import { type Page, checkbox, field, head, serverText, when } from "./page";
import { zonePicker } from "./ui";

export const WEEKDAY_CODES: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const DEFAULTS: Record<string, { sessions: number; duration: number }> = {
  balint: { sessions: 8, duration: 60 },
  dynamic: { sessions: 16, duration: 90 },
  peer_support: { sessions: 3, duration: 60 },
  workshop: { sessions: 1, duration: 210 },
  self_help: { sessions: 12, duration: 90 },
  coaching: { sessions: 1, duration: 60 },
};

export function bookingForm(page: Page, group: Group, zone: string, hasLeader: boolean): HTMLElement {
  const { i18n } = page;
  const t = page.t.bind(page);
  const d = DEFAULTS[group.protocol] ?? { sessions: 8, duration: 60 };
  const title = h("input", { name: "title", required: true, value: t("coord.book.default", { group: group.name }) });
  const sessions = h("input", { name: "sessions", type: "number", min: 1, max: 52, value: d.sessions });
  const names = i18n.weekdays();
  const days = WEEKDAY_CODES.map((code, i) => ({ code, ...checkbox(names[i] ?? code, code, false, "weekday") }));
  const time = h("input", { name: "local_time", type: "time", value: "19:00", required: true, dir: "ltr" });
  const start = dateField(i18n, t("coord.book.start"), "", "start_date", true);
  const duration = h("input", { name: "duration", type: "number", min: 15, max: 480, value: d.duration });
  const tz = zonePicker(i18n, zone, "book-zone");
  const skips: string[] = [];
  const skipList = h("ul", { class: "chips", "data-testid": "skip-list" });
  const skipDate = dateField(i18n, t("coord.book.skip.date"), "", "skip");
  const drawSkips = (): void => skipList.replaceChildren(...skips.map((iso) =>
    h("li", {}, h("span", { text: showDate(i18n, iso) }), h("button", {
      type: "button", class: "btn btn-small", "aria-label": t("coord.book.skip.remove", { date: showDate(i18n, iso) }), text: "×",
      onclick: () => { skips.splice(skips.indexOf(iso), 1); drawSkips(); },
    }))));
  const addSkip = h("button", { type: "button", class: "btn", text: t("coord.book.skip.add"), onclick: () => {
    const v = skipDate.value();
    if (v && !skips.includes(v)) { skips.push(v); skips.sort(); drawSkips(); }
  } });
  const out = h("div", { "aria-live": "polite", "data-testid": "preview" });
  const bookBtn = h("button", { type: "button", class: "btn btn-primary", text: t("coord.book.submit"), disabled: true });
  const body = (): SeriesIn => ({
    title: title.value, sessions: Number(sessions.value), weekdays: days.filter((x) => x.box.checked).map((x) => x.code),
    local_time: time.value, start_date: start.value(), duration_minutes: Number(duration.value), timezone: tz.input.value,
    exclude_dates: [...skips],
  });
  const form = h(
    "form", { class: "card wide", "aria-labelledby": "book" },
    h("h2", { id: "book", text: t("coord.book.title") }),
    hasLeader ? null : h("p", { class: "problem", "data-testid": "book-no-leader", text: t("coord.leader.missing.series") }),
    field(t("coord.book.name"), title), field(t("coord.book.sessions"), sessions),
    h("fieldset", {}, h("legend", { text: t("coord.book.weekdays") }), h("div", { class: "checks" }, ...days.map((x) => x.el))),
    field(t("coord.book.time"), time), field(t("coord.book.start"), start.el), field(t("coord.book.duration"), duration),
    field(t("coord.book.timezone"), tz.el, t("coord.zone.hint")),
    h("fieldset", {}, h("legend", { text: t("coord.book.skip.title") }), h("p", { class: "muted", text: t("coord.book.skip.hint") }),
      h("div", { class: "inline" }, skipDate.el, addSkip), skipList),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn", text: t("coord.book.preview") }), bookBtn), out,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    bookBtn.disabled = true;
    api.preview(group.id, body()).then(
      (p) => { showPreview(page, out, p, tz.input.value); bookBtn.disabled = !p.ok; },
      (e) => showError(page, out, e),
    );
  });
  bookBtn.addEventListener("click", () => {
    bookBtn.disabled = true;
    api.book(group.id, body()).then(
      (s) => page.done({ text: t("coord.done.booked", { title: s.title, n: s.sessions.length }) }),
      (e) => showError(page, out, e),
    );
  });
  return form;
}

function showPreview(page: Page, out: HTMLElement, p: Preview, zone: string): void {
  const { i18n } = page;
  const problems = p.problems.map((x) =>
    h("li", {
      class: x.kind, "data-code": x.code,
      text: page.t(x.kind === "refuse" ? "coord.preview.refuse" : "coord.preview.warn", {
        message: serverText(i18n, "coord.problem.", x.code, x.message, x.session_index),
      }),
    }));
  const skipped = p.skipped.map((x) => h("li", { "data-date": x.date, text: x.reason === "holiday"
    ? page.t("coord.preview.skipped.holiday", { date: showDate(i18n, x.date), name: x.name })
    : page.t("coord.preview.skipped.excluded", { date: showDate(i18n, x.date) }) }));
  const group = i18n.inZone(zone);
  const rows = p.sessions.map((s) =>
    h("tr", {}, h("td", { text: i18n.number(s.index) }), h("td", {}, when(group, s.starts_at, s.local)),
      h("td", {}, h("bdi", { dir: "ltr", text: `UTC${s.utc_offset}` })), h("td", {}, when(i18n, s.starts_at))),
  );
  out.replaceChildren(...([
    h("h3", { text: page.t(p.ok ? "coord.preview.ok" : "coord.preview.blocked") }),
    problems.length ? h("ul", { class: "problems" }, ...problems) : null,
    skipped.length ? h("div", {}, h("h4", { text: page.t("coord.preview.skipped") }), h("ul", { "data-testid": "skipped" }, ...skipped)) : null,
    h("div", { class: "scroll" }, h("table", {}, head(page, ["coord.col.index", "coord.col.group_time", "coord.col.offset", "coord.col.your_time"]), h("tbody", {}, ...rows))),
  ] as (HTMLElement | null)[]).filter((x): x is HTMLElement => x !== null));
}

export function showError(page: Page, out: HTMLElement, e: unknown): void {
  const details = e instanceof CircleError ? e.details : {};
  const fields = (details.fields ?? {}) as Record<string, string>;
  const problems = (details.problems ?? []) as { code: string; message: string; session_index?: number | null }[];
  out.replaceChildren(
    h("p", { role: "alert", text: page.message(e) }),
    h("ul", {}, ...Object.entries(fields).map(([k, v]) => h("li", {}, h("bdi", { text: `${k}: ${v}` }))),
      ...problems.map((p) => h("li", { text: serverText(page.i18n, "coord.problem.", p.code, p.message, p.session_index) }))),
  );
}
