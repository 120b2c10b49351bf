// One booked series: its sessions in the group's and the coordinator's time, move (with a note
// for everyone), cancel and cancel the rest (each confirmed, naming who will be told, with an
// undo), a make-up session, a new weekly pattern for the rest, and who confirmed.

import { h } from "../ui/dom";
import { attendanceHref } from "../attendance/links";
import { msg } from "../attendance/messages";
import { api, type Member, type Series, type Session } from "./api";
import { WEEKDAY_CODES } from "./booking";
import { dateField } from "./dates";
import { type Page, checkbox, head, label, when } from "./page";
import { confirmAction } from "./ui";

function restoreAll(page: Page, sessions: Session[]): Promise<void> {
  return sessions.reduce<Promise<unknown>>((p, x) => p.then(() => api.restore(x.id)), Promise.resolve()).then(
    () => page.done({ text: page.t("coord.done.restored", { n: sessions.length }) }),
    (e) => page.done({ text: page.message(e), error: true }),
  );
}

export function seriesCard(page: Page, s: Series, members: Member[]): HTMLElement {
  const { i18n } = page;
  const t = page.t.bind(page);
  const told = members.filter((m) => m.status === "active").map((m) => m.display_name);
  const fail = (e: unknown): Promise<void> => page.done({ text: page.message(e), error: true });
  const rows = s.sessions.map((x) => {
    const editable = x.status === "scheduled" || x.status === "open";
    const movable = x.status === "scheduled";
    const date = dateField(i18n, t("coord.series.new_date", { n: x.index }), x.local_start.slice(0, 10), `date-${x.id}`);
    const time = h("input", { type: "time", dir: "ltr", "aria-label": t("coord.series.new_time", { n: x.index }), value: x.local_start.slice(11, 16) });
    const move = async (): Promise<void> => {
      const note = await confirmAction(i18n, { title: t("coord.confirm.move", { n: x.index }), notify: told, confirm: t("coord.series.move"), noteLabel: t("coord.confirm.note") });
      if (note === null) return;
      await api.move(x.id, date.value(), time.value, note || undefined).then(
        () => page.done({ text: t("coord.done.moved", { n: x.index }) }), fail);
    };
    const cancel = async (): Promise<void> => {
      const reason = await confirmAction(i18n, { title: t("coord.confirm.cancel", { n: x.index }), notify: told, confirm: t("coord.series.cancel"), noteLabel: t("coord.confirm.reason") });
      if (reason === null) return;
      await api.cancel(x.id, reason || undefined).then((c) => page.done({
        text: t("coord.done.cancelled", { n: x.index }),
        undo: Date.parse(c.starts_at) > Date.now() ? { label: t("coord.undo"), run: () => restoreAll(page, [c]) } : undefined,
      }), fail);
    };
    const cancelRest = async (): Promise<void> => {
      const reason = await confirmAction(i18n, { title: t("coord.confirm.cancel_rest", { n: x.index }), notify: told, confirm: t("coord.series.cancel_rest"), noteLabel: t("coord.confirm.reason") });
      if (reason === null) return;
      await api.cancelRest(x.id, reason || undefined).then((list) => page.done({
        text: t("coord.done.cancelled_rest", { n: list.length }),
        undo: { label: t("coord.undo"), run: () => restoreAll(page, list.filter((c) => Date.parse(c.starts_at) > Date.now())) },
      }), fail);
    };
    const restorable = x.status === "cancelled" && Date.parse(x.starts_at) > Date.now();
    // One tbody per session: its times, then (when it can change) its controls on a row of
    // their own, so the table fits a phone.
    return h(
      "tbody", { "data-session": String(x.id), "data-status": x.status },
      h("tr", {},
        h("td", { text: x.is_makeup ? t("coord.series.makeup") : i18n.number(x.index) }),
        h("td", {}, when(i18n.inZone(x.timezone), x.starts_at, x.local_start.slice(0, 16)), " ", h("bdi", { dir: "ltr", text: `(${x.timezone})` })),
        h("td", {}, when(i18n, x.starts_at)),
        h("td", { text: label(i18n, "coord.session.", x.status) })),
      editable || restorable ? h("tr", { class: "change" }, h("td", { colspan: 4 },
        movable ? h("div", { class: "inline" }, date.el, time, h("button", { type: "button", class: "btn", text: t("coord.series.move"), onclick: () => void move() })) : null,
        editable ? h("div", { class: "inline" },
          h("button", { type: "button", class: "btn btn-danger", text: t("coord.series.cancel"), onclick: () => void cancel() }),
          h("button", { type: "button", class: "btn btn-danger", text: t("coord.series.cancel_rest"), onclick: () => void cancelRest() })) : null,
        restorable ? h("button", { type: "button", class: "btn", text: t("coord.series.restore"), onclick: () => void restoreAll(page, [x]) }) : null)) : null,
    );
  });
  const next = s.sessions.find((x) => x.status === "scheduled");
  const mkDate = dateField(i18n, t("coord.series.makeup.date"), "", `makeup-${s.id}`);
  const mkTime = h("input", { type: "time", dir: "ltr", "aria-label": t("coord.series.makeup.time"), value: next?.local_start.slice(11, 16) ?? "19:00", required: true });
  const makeup = h("form", { class: "inline" }, h("span", { text: t("coord.series.makeup.add") }), mkDate.el, mkTime,
    h("button", { type: "submit", class: "btn", text: t("coord.series.makeup.submit") }));
  makeup.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api.makeup(s.id, mkDate.value(), mkTime.value).then(() => page.done({ text: t("coord.done.makeup") }), fail);
  });
  const names = i18n.weekdays();
  const restDays = WEEKDAY_CODES.map((code, i) => ({ code, ...checkbox(names[i] ?? code, code) }));
  const restTime = h("input", { type: "time", dir: "ltr", "aria-label": t("coord.series.rest.time"), value: next?.local_start.slice(11, 16) ?? "19:00" });
  const restFrom = dateField(i18n, t("coord.series.rest.from"), next?.local_start.slice(0, 10) ?? "", `rest-${s.id}`);
  const rest = h("form", { class: "inline" },
    h("fieldset", {}, h("legend", { text: t("coord.series.rest.pattern") }), h("div", { class: "checks" }, ...restDays.map((d) => d.el))),
    restTime, restFrom.el, h("button", { type: "submit", class: "btn", text: t("coord.series.rest.submit"), disabled: !next }));
  rest.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!next) return;
    const days = restDays.filter((d) => d.box.checked).map((d) => d.code);
    api.changeRest(next.id, days, restTime.value, restFrom.value()).then(() => page.done({ text: t("coord.done.retimed") }), fail);
  });
  const confirmed = h("ul", { "data-testid": "confirmations" });
  void api.confirmations(s.id).then((list) =>
    confirmed.replaceChildren(...list.filter((c) => c.role === "member").map((c) =>
      h("li", {}, h("bdi", { text: c.display_name }), " ", t(c.confirmed_at ? "coord.series.confirmed.yes" : "coord.series.confirmed.no")))),
  );
  return h(
    "section", { class: "card wide series", "data-series": String(s.id) },
    h("h2", { text: s.title }),
    h("p", { class: "actions" }, h("a", { href: `/api/series/${s.id}/calendar.ics`, text: t("coord.series.calendar") }),
      h("a", { href: attendanceHref(s.id, i18n.locale), "data-testid": "attendance-link", text: msg(i18n.locale, "attendanceLink") })),
    h("div", { class: "scroll" }, h("table", { class: "sessions" }, head(page, ["coord.col.index", "coord.col.group_time", "coord.col.your_time", "coord.col.status"]), ...rows)),
    makeup, rest, h("h3", { text: t("coord.series.confirmed.title") }), confirmed,
  );
}
