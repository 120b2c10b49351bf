// One group: members with their roles (leader, co-leader, member), enrol with a role, withdraw
// (confirmed, with an undo), a warning when nobody leads, invitations from a CSV file, reminder
// timing, booking and the series.

import { h } from "../ui/dom";
import { CircleError } from "../protocol/types";
import { api, type Group, type Member, type Person, type RowProblem } from "./api";
import { bookingForm } from "./booking";
import { type Page, checkbox, field, head, label } from "./page";
import { seriesCard } from "./series";
import { confirmAction } from "./ui";

const ROLES = ["leader", "co_leader", "member"] as const;
const LEADS = new Set<string>(["leader", "co_leader"]);
/** Reminder choices offered (minutes before the session). */
const OFFSETS = [7 * 1440, 2 * 1440, 1440, 120, 60, 15] as const;

/** "Name" with the address kept apart, so neither reorders the other in right-to-left text. */
function personText(p: Person): string {
  return `\u2068${p.display_name}\u2069 \u2068<${p.email}>\u2069`;
}

export async function groupPage(page: Page, id: number, admin: boolean, zone: string): Promise<HTMLElement[]> {
  const t = page.t.bind(page);
  const [groups, members, people, series, reminders] = await Promise.all([
    api.groups(page.org), api.members(id), api.people(page.org), api.series(id), api.reminders(id),
  ]);
  const group = groups.find((g) => g.id === id);
  if (!group) throw new Error(t("coord.group.missing"));
  const active = members.filter((m) => m.status !== "withdrawn");
  const hasLeader = active.some((m) => m.status === "active" && LEADS.has(m.role));
  const fail = (e: unknown): Promise<void> => page.done({ text: page.message(e), error: true });
  const roleSelect = (m: Member): HTMLElement => {
    const sel = h("select", { "aria-label": t("coord.members.role.of", { name: m.display_name }), "data-person": String(m.person_id) },
      ...ROLES.map((r) => h("option", { value: r, selected: r === m.role, text: label(page.i18n, "tile.role.", r) })));
    sel.addEventListener("change", () => {
      api.setRole(id, m.person_id, sel.value).then(
        () => page.done({ text: t("coord.done.role", { name: m.display_name, role: label(page.i18n, "tile.role.", sel.value) }) }), fail);
    });
    return sel;
  };
  const withdraw = async (m: Member): Promise<void> => {
    // The first on the waiting list moves up (and is told) when a member's place opens.
    const next = m.role === "member" && m.status === "active" ? members.find((x) => x.status === "waiting") : undefined;
    const notify = next ? [m.display_name, t("coord.confirm.promoted", { name: next.display_name })] : [m.display_name];
    const ok = await confirmAction(page.i18n, { title: t("coord.confirm.withdraw", { name: m.display_name }), notify, confirm: t("coord.members.withdraw") });
    if (ok === null) return;
    await api.withdraw(id, m.person_id).then(() => page.done({
      text: t("coord.done.withdrawn", { name: m.display_name }),
      undo: { label: t("coord.undo"), run: () => api.enrol(id, m.person_id, m.role).then(
        (r) => page.done({ text: t(r.status === "waiting" ? "coord.members.waiting" : "coord.done.enrolled", { name: m.display_name }) }), fail) },
    }), fail);
  };
  const rows = members.map((m) =>
    h("tr", { "data-person": String(m.person_id) },
      // Name with the membership status under it: three columns fit a phone.
      h("td", {}, h("bdi", { text: m.display_name }), h("br"),
        h("small", { class: "muted", "data-testid": "membership", text: label(page.i18n, "coord.membership.", m.status) })),
      h("td", {}, m.status === "withdrawn" ? label(page.i18n, "tile.role.", m.role) : roleSelect(m)),
      h("td", { class: "inline" },
        admin ? h("button", { type: "button", class: "btn", text: t("coord.members.invite"), onclick: () => invite(page, m.person_id, linkBox) }) : null,
        m.status !== "withdrawn" ? h("button", { type: "button", class: "btn btn-danger", text: t("coord.members.withdraw"), onclick: () => void withdraw(m) }) : null)));
  const linkBox = h("div", { "data-testid": "members-status" });
  const enrolled = new Set(active.map((m) => m.person_id));
  const candidates = people.filter((p) => !enrolled.has(p.id));
  const pick = h("select", { name: "person" }, ...candidates.map((p) => h("option", { value: String(p.id), text: personText(p) })));
  const role = h("select", { name: "role" }, ...ROLES.map((r) => h("option", { value: r, selected: r === "member", text: label(page.i18n, "tile.role.", r) })));
  const enrol = h("form", { class: "inline" }, field(t("coord.members.person"), pick), field(t("coord.members.role"), role),
    h("button", { type: "submit", class: "btn btn-primary", text: t("coord.members.enrol"), disabled: candidates.length === 0 }));
  enrol.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const who = candidates.find((p) => p.id === Number(pick.value));
    api.enrol(id, Number(pick.value), role.value).then(
      (r) => page.done({ text: t(r.status === "waiting" ? "coord.members.waiting" : "coord.done.enrolled", { name: who?.display_name ?? "" }) }), fail);
  });
  const membersCard = h(
    "section", { class: "card wide" }, h("h2", { text: t("coord.members.title", { group: group.name }) }),
    hasLeader ? null : h("p", { class: "problem", role: "note", "data-testid": "no-leader", text: t("coord.leader.missing") }),
    h("div", { class: "scroll" }, h("table", {}, head(page, ["coord.members.name", "coord.members.role", "coord.members.actions"]), h("tbody", {}, ...rows))),
    linkBox, h("h3", { text: t("coord.members.add") }), enrol,
  );
  return [h("h1", { text: group.name }), membersCard, importCard(page, group), remindersCard(page, group, reminders.offsets_minutes, reminders.default),
    bookingForm(page, group, zone, hasLeader), ...series.map((s) => seriesCard(page, s, members))];
}

function invite(page: Page, personId: number, box: HTMLElement): void {
  api.invite(personId).then(
    (r) => box.replaceChildren(h("label", { class: "field" }, h("span", { text: page.t("coord.members.link") }),
      h("input", { readonly: true, dir: "ltr", value: r.url }))),
    (e) => box.replaceChildren(h("p", { role: "alert", text: page.message(e) })),
  );
}

function importCard(page: Page, group: Group): HTMLElement {
  const t = page.t.bind(page);
  const file = h("input", { type: "file", accept: ".csv,text/csv", name: "csv", required: true });
  const report = h("div", { "aria-live": "polite", "data-testid": "import-report" });
  const form = h("form", { class: "card wide", "aria-labelledby": "import" },
    h("h2", { id: "import", text: t("coord.import.title") }), h("p", { text: t("coord.import.intro") }),
    h("p", {}, h("code", { dir: "ltr", text: "name,email,language,zone,profession,department" })),
    field(t("coord.import.file"), file), h("button", { type: "submit", class: "btn btn-primary", text: t("coord.import.submit") }), report);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    void f.text().then((text) => api.importCsv(group.id, text)).then(
      (r) => page.done({ text: t("coord.done.imported", { n: r.people.length, created: r.created, waiting: r.waiting }) }),
      (e) => {
        const rows = (e instanceof CircleError ? (e.details.rows ?? []) : []) as RowProblem[];
        report.replaceChildren(h("p", { role: "alert", text: t("coord.import.refused", { n: rows.length }) }),
          rows.length ? h("table", { "data-testid": "import-problems" }, head(page, ["coord.import.row", "coord.import.field", "coord.import.problem"]),
            h("tbody", {}, ...rows.map((r) => h("tr", {}, h("td", { text: page.i18n.number(r.row) }), h("td", {}, h("bdi", { dir: "ltr", text: r.field })), h("td", {}, h("bdi", { text: r.message })))))) : h("p", { text: page.message(e) }));
      });
  });
  return form;
}

function offsetText(page: Page, minutes: number): string {
  if (minutes % 1440 === 0) return page.t("coord.reminders.days", { n: minutes / 1440 });
  if (minutes % 60 === 0) return page.t("coord.reminders.hours", { n: minutes / 60 });
  return page.t("coord.reminders.minutes", { n: minutes });
}

function remindersCard(page: Page, group: Group, offsets: number[], isDefault: boolean): HTMLElement {
  const t = page.t.bind(page);
  const choices = [...new Set([...OFFSETS, ...offsets])].sort((a, b) => b - a)
    .map((m) => ({ m, ...checkbox(offsetText(page, m), String(m), offsets.includes(m), "reminder") }));
  const form = h("form", { class: "card wide", "aria-labelledby": "reminders" },
    h("h2", { id: "reminders", text: t("coord.reminders.title") }),
    h("p", { class: "muted", text: t(isDefault ? "coord.reminders.default" : "coord.reminders.own") }),
    h("fieldset", {}, h("legend", { text: t("coord.reminders.when") }), h("div", { class: "checks" }, ...choices.map((c) => c.el))),
    h("button", { type: "submit", class: "btn btn-primary", text: t("coord.reminders.save") }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api.setReminders(group.id, choices.filter((c) => c.box.checked).map((c) => c.m)).then(
      (r) => page.done({ text: r.offsets_minutes.length ? t("coord.done.reminders", { list: r.offsets_minutes.map((m) => offsetText(page, m)).join(page.i18n.locale === "fa" ? "، " : ", ") }) : t("coord.done.reminders.none") }),
      (e) => page.done({ text: page.message(e), error: true }));
  });
  return form;
}
