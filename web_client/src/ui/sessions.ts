// The member's session pages before the room: the list of upcoming sessions (with the series
// to confirm) and the wait until the lobby opens. Built here, shown by the shell (app.ts).

import type { I18n } from "../i18n";
import type { SeriesConfirmations } from "../protocol/confirm";
import { seriesToConfirm } from "../protocol/confirm";
import { availability, upcomingSessions } from "../protocol/schedule";
import type { SessionSummary } from "../protocol/types";
import { excuseToggle } from "../attendance/excuse";
import { attendanceHref } from "../attendance/links";
import { msg } from "../attendance/messages";
import { coachingOffers } from "./coaching";
import { ConfirmPanel } from "./confirm";
import { h } from "./dom";
import { questionnaireLinks } from "./questionnaire-links";
import { type Screen, SimpleScreen } from "./screen";

/** The upcoming sessions, each a button that opens it; below, the series to confirm. */
export function sessionListScreen(
  i18n: I18n,
  confirmations: SeriesConfirmations,
  sessions: SessionSummary[],
  open: (s: SessionSummary) => void,
  excused: ReadonlySet<string> = new Set(),
): Screen {
  const t = i18n.t.bind(i18n);
  const now = Date.now();
  const list = upcomingSessions(sessions, now);
  const el = h(
    "section",
    { class: "card", "data-testid": "sessions" },
    h("h1", { text: t("sessions.title") }),
    list.length === 0
      ? h("p", { text: t("sessions.none") })
      : h(
          "ul",
          { class: "session-list" },
          ...list.map((s) => {
            const start = Date.parse(s.starts_at);
            const end = Date.parse(s.ends_at);
            const isOpen = availability(s, now).kind === "open";
            return h(
              "li",
              {},
              h("button", {
                type: "button",
                class: isOpen ? "btn btn-primary" : "btn",
                text: t("sessions.join", { group: s.group_name }),
                onclick: () => open(s),
              }),
              h("span", {
                class: "session-when",
                text: `${t("sessions.when", { date: i18n.date(start), start: i18n.time(start), end: i18n.time(end) })}${isOpen ? ` · ${t("sessions.open")}` : ""}`,
              }),
              start > now ? excuseToggle(i18n, s.id, excused.has(String(s.id))) : null,
              s.series_id ? h("a", { class: "link session-excuse", href: attendanceHref(s.series_id, i18n.locale), text: msg(i18n.locale, "attendanceLink") }) : null,
            );
          }),
        ),
  );
  const toConfirm = seriesToConfirm(sessions, now);
  confirmations.seed(toConfirm);
  const confirm = new ConfirmPanel(i18n, confirmations, toConfirm);
  el.append(confirm.el, questionnaireLinks(i18n), coachingOffers(i18n));
  return new SimpleScreen(el, t("sessions.title"), () => confirm.destroy());
}

/** Waiting for the lobby of `s` to open; `lobbyOpens` is called when it should have. */
export function waitScreen(
  i18n: I18n,
  confirmations: SeriesConfirmations,
  sessions: SessionSummary[],
  s: SessionSummary,
  opensAtMs: number,
  startsAtMs: number,
  lobbyOpens: () => void,
): Screen {
  const t = i18n.t.bind(i18n);
  const el = h(
    "section",
    { class: "card", "data-testid": "wait" },
    h("h1", { text: t("wait.title", { group: s.group_name }) }),
    h("p", { class: "big", text: t("wait.starts", { date: i18n.date(startsAtMs), time: i18n.time(startsAtMs) }) }),
    h("p", { "data-testid": "wait-lobby", text: t("wait.lobby", { time: i18n.time(opensAtMs) }) }),
    h("p", { class: "muted small", text: t("wait.timezone", { zone: i18n.zoneName(startsAtMs) }) }),
    // a reminder's link lands here: one click says "I can't come" (or takes it back)
    startsAtMs > Date.now() ? h("p", {}, excuseToggle(i18n, s.id, null)) : null,
    h("a", { href: "?list=1", class: "link", text: t("wait.back") }),
  );
  const series = seriesToConfirm(sessions, Date.now()).filter((x) => String(s.series_id) === x.series_id);
  confirmations.seed(series);
  const confirm = new ConfirmPanel(i18n, confirmations, series);
  el.append(confirm.el);
  // Re-check when the lobby opens (timers are capped so a sleeping laptop catches up).
  const delay = Math.min(Math.max(1000, opensAtMs - Date.now()), 60_000);
  const timer = window.setTimeout(lobbyOpens, delay);
  const cleanup = (): void => {
    window.clearTimeout(timer);
    confirm.destroy();
  };
  return new SimpleScreen(el, s.group_name, cleanup);
}
