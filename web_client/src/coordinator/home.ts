// The coordinator's home (groups, whether mail really goes out, the organisation's booking
// zone and holidays) and the outbox (kind in words, recipient, the message itself).

import { h } from "../ui/dom";
import { api, type Group, type OrgCalendar, type OutboxStatus, type Protocol, type ProtocolBounds } from "./api";
import { dateField, showDate } from "./dates";
import { type Page, field, head, label, when } from "./page";
import { zonePicker } from "./ui";

// Coaching groups are made by the system (server/coaching: one per accepted offer after a
// workshop, with the workshop's leader as coach), never from this form.
const MADE_BY_SYSTEM: ReadonlySet<Protocol> = new Set<Protocol>(["coaching"]);

/** The member bounds of a kind, in words (the protocol table, `GET /api/protocols`). */
export function boundsText(page: Page, b: ProtocolBounds): string {
  return b.members_high === 1
    ? page.t("coord.groups.bounds.one")
    : page.t("coord.groups.bounds", { low: page.i18n.number(b.members_low), high: page.i18n.number(b.members_high), default: page.i18n.number(b.members_default) });
}

/** "Not sent: no mail server configured", prominent, when nothing leaves the server. */
export function mailBanner(page: Page, st: OutboxStatus, link = true): HTMLElement | null {
  if (st.mail_configured && !st.failed) return null;
  const text = st.mail_configured
    ? page.t("coord.outbox.failed", { n: st.failed })
    : page.t("coord.mail.none", { n: st.not_emailed });
  return h("section", { class: "problem", role: "note", "data-testid": "mail-banner" },
    h("h2", { text: st.mail_configured ? page.t("coord.mail.failed.title") : page.t("coord.mail.none.title") }),
    h("p", { text }), link ? h("p", {}, h("a", { href: "#/outbox", text: page.t("coord.mail.open") })) : null);
}

export async function homePage(page: Page, zone: string): Promise<HTMLElement[]> {
  const t = page.t.bind(page);
  const [groups, st, cal, kinds] = await Promise.all([api.groups(page.org), api.outboxStatus(page.org), api.calendar(page.org), api.protocols()]);
  const name = h("input", { name: "group-name", required: true, maxlength: 200 });
  const creatable = kinds.filter((k) => !MADE_BY_SYSTEM.has(k.protocol));
  const bounds = h("small", { id: "protocol-bounds", "data-testid": "protocol-bounds", "aria-live": "polite" });
  const protocol = h("select", { name: "protocol", "aria-describedby": "protocol-bounds" },
    ...creatable.map((k) => h("option", { value: k.protocol, text: label(page.i18n, "coord.protocol.", k.protocol) })));
  const showBounds = (): void => {
    const k = creatable.find((x) => x.protocol === protocol.value);
    bounds.textContent = k ? boundsText(page, k) : "";
  };
  protocol.addEventListener("change", showBounds);
  showBounds();
  const form = h(
    "form", { class: "card wide", "aria-labelledby": "new-group" },
    h("h2", { id: "new-group", text: t("coord.groups.new") }), field(t("coord.groups.name"), name),
    h("label", { class: "field" }, h("span", { text: t("coord.groups.method") }), protocol, bounds),
    h("button", { type: "submit", class: "btn btn-primary", text: t("coord.groups.create") }),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api.createGroup(page.org, name.value, protocol.value as Group["protocol"]).then(
      (g) => { location.hash = `#/group/${g.id}`; void page.done({ text: t("coord.done.group", { name: g.name }) }); },
      (e) => page.done({ text: page.message(e), error: true }),
    );
  });
  const list = h("ul", { class: "groups" }, ...groups.map((g) =>
    h("li", {}, h("a", { href: `#/group/${g.id}` }, h("bdi", { text: g.name })), " ",
      t("coord.groups.summary", { method: label(page.i18n, "coord.protocol.", g.protocol), n: g.member_count, capacity: g.capacity }))));
  return [
    h("h1", { text: t("coord.home") }),
    mailBanner(page, st),
    h("section", { class: "card wide" }, h("h2", { text: t("coord.groups.title") }), groups.length ? list : h("p", { text: t("coord.groups.none") })),
    form, calendarCard(page, cal, zone),
  ].filter((x): x is HTMLElement => x !== null);
}

function calendarCard(page: Page, cal: OrgCalendar, zone: string): HTMLElement {
  const t = page.t.bind(page);
  const tz = zonePicker(page.i18n, cal.timezone ?? zone, "org-zone");
  const holidays = [...cal.holidays];
  const list = h("ul", { class: "chips", "data-testid": "holidays" });
  const draw = (): void => list.replaceChildren(...holidays.map((x) => h("li", { "data-date": x.date },
    h("span", {}, showDate(page.i18n, x.date), ": ", h("bdi", { text: x.name })),
    h("button", { type: "button", class: "btn btn-small", "aria-label": t("coord.holidays.remove", { name: x.name }), text: "×",
      onclick: () => { holidays.splice(holidays.indexOf(x), 1); draw(); } }))));
  draw();
  const day = dateField(page.i18n, t("coord.holidays.date"), "", "holiday");
  const hname = h("input", { name: "holiday-name", maxlength: 120 });
  const add = h("button", { type: "button", class: "btn", text: t("coord.holidays.add"), onclick: () => {
    const d = day.value();
    if (!d || !hname.value.trim() || holidays.some((x) => x.date === d)) return;
    holidays.push({ date: d, name: hname.value.trim() });
    holidays.sort((a, b) => a.date.localeCompare(b.date));
    hname.value = "";
    draw();
  } });
  const form = h("form", { class: "card wide", "aria-labelledby": "org-cal" },
    h("h2", { id: "org-cal", text: t("coord.holidays.title") }),
    field(t("coord.holidays.zone"), tz.el, t("coord.zone.hint")),
    h("p", { class: "muted", text: t("coord.holidays.intro") }), list,
    h("div", { class: "inline" }, field(t("coord.holidays.date"), day.el), field(t("coord.holidays.name"), hname), add),
    h("button", { type: "submit", class: "btn btn-primary", text: t("coord.holidays.save") }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api.setCalendar(page.org, { timezone: tz.input.value, holidays }).then(
      () => page.done({ text: t("coord.done.calendar") }), (e) => page.done({ text: page.message(e), error: true }));
  });
  return form;
}

export async function outboxPage(page: Page): Promise<HTMLElement[]> {
  const t = page.t.bind(page);
  const [messages, st] = await Promise.all([api.outbox(page.org), api.outboxStatus(page.org)]);
  const rows = messages.map((m) =>
    h("tr", { class: m.delivery, "data-kind": m.kind },
      h("td", {}, when(page.i18n, m.created_at)),
      h("td", {}, h("bdi", { text: m.recipient_name ?? "" }), h("br"), h("bdi", { class: "muted small", dir: "ltr", text: m.to_address })),
      h("td", { text: label(page.i18n, "coord.kind.", m.kind) }),
      h("td", { "data-testid": "delivery", text: t(`coord.delivery.${m.delivery}`) }),
      // The message in its reader's language (and direction), opened on demand.
      h("td", {}, h("details", { lang: m.locale, dir: "auto" }, h("summary", {}, h("bdi", { text: m.subject })), h("pre", { class: "message", dir: "auto", text: m.body })),
        m.last_error ? h("p", { class: "muted small", text: m.last_error }) : null)));
  return [
    h("h1", { text: t("coord.outbox.title") }),
    mailBanner(page, st, false),
    h("section", { class: "card wide" },
      h("div", { class: "scroll" }, h("table", {}, head(page, ["coord.outbox.when", "coord.outbox.to", "coord.outbox.kind", "coord.outbox.status", "coord.outbox.message"]), h("tbody", {}, ...rows)))),
  ].filter((x): x is HTMLElement => x !== null);
}
