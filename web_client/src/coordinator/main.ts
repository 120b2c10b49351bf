// The coordinator pages (/app/coordinator.html): groups, members and one-click invitations,
// booking a series with its preview, changing sessions, confirmations, and the outbox.
// Routes live in the hash: #/ (groups), #/group/<id>, #/outbox.

import "../ui/styles.css";
import "./coordinator.css";
import { h, type Child } from "../ui/dom";
import { api, ApiError, type Group, type Preview, type Series, type SeriesIn, type Weekday } from "./api";

const WEEKDAYS: [Weekday, string][] = [
  ["MO", "Monday"], ["TU", "Tuesday"], ["WE", "Wednesday"], ["TH", "Thursday"],
  ["FR", "Friday"], ["SA", "Saturday"], ["SU", "Sunday"],
];
const PROTOCOLS: [string, string][] = [
  ["balint", "Balint group"], ["dynamic", "Dynamic group therapy"], ["peer_support", "Peer support (1:1)"],
];
const DEFAULTS: Record<string, { sessions: number; duration: number }> = {
  balint: { sessions: 8, duration: 60 },
  dynamic: { sessions: 16, duration: 90 },
  peer_support: { sessions: 3, duration: 60 },
};

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { text: label }), input, hint ? h("small", { text: hint }) : null);
}

class Coordinator {
  private org = 0;

  constructor(private readonly root: HTMLElement) {
    window.addEventListener("hashchange", () => void this.route());
  }

  async start(): Promise<void> {
    await api.prime();
    try {
      const me = await api.me();
      this.org = me.organisation_id;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.login();
      return this.render([h("p", { role: "alert", text: message(e) })]);
    }
    await this.route();
  }

  private render(children: Child[]): void {
    const nav = h(
      "nav", { "aria-label": "Coordinator" },
      h("a", { href: "#/", text: "Groups" }), " · ", h("a", { href: "#/outbox", text: "Outbox" }),
    );
    this.root.replaceChildren(h("header", {}, h("h1", { text: "Coordinator" }), nav), ...children.filter((c): c is Node | string => !!c));
  }

  private login(): void {
    const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    const status = h("p", { role: "status" });
    const form = h(
      "form", { class: "card" },
      h("h2", { text: "Log in" }), field("Email", email), field("Password", password),
      h("button", { type: "submit", class: "primary", text: "Log in" }), status,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.login(email.value, password.value).then(() => this.start(), (e) => (status.textContent = message(e)));
    });
    this.root.replaceChildren(h("h1", { text: "Coordinator" }), form);
  }

  private async route(): Promise<void> {
    const hash = location.hash || "#/";
    const group = /^#\/group\/(\d+)$/.exec(hash);
    try {
      if (group?.[1]) await this.groupPage(Number(group[1]));
      else if (hash === "#/outbox") await this.outboxPage();
      else await this.groupsPage();
    } catch (e) {
      this.render([h("p", { role: "alert", text: message(e) })]);
    }
  }

  // ---- groups -------------------------------------------------------------------------------
  private async groupsPage(): Promise<void> {
    const groups = await api.groups(this.org);
    const name = h("input", { name: "group-name", required: true, maxlength: 200 });
    const protocol = h("select", { name: "protocol" }, ...PROTOCOLS.map(([v, t]) => h("option", { value: v, text: t })));
    const status = h("p", { role: "status" });
    const form = h(
      "form", { class: "card", "aria-labelledby": "new-group" },
      h("h2", { id: "new-group", text: "Create a group" }), field("Name", name), field("Method", protocol),
      h("button", { type: "submit", class: "primary", text: "Create group" }), status,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.createGroup(this.org, name.value, protocol.value as Group["protocol"]).then(
        (g) => (location.hash = `#/group/${g.id}`),
        (e) => (status.textContent = message(e)),
      );
    });
    const list = h(
      "ul", { class: "groups" },
      ...groups.map((g) =>
        h("li", {}, h("a", { href: `#/group/${g.id}`, text: g.name }), ` (${g.protocol}, ${g.member_count}/${g.capacity} members)`),
      ),
    );
    this.render([h("section", { class: "card" }, h("h2", { text: "Groups" }), groups.length ? list : h("p", { text: "No groups yet." })), form]);
  }

  // ---- one group ----------------------------------------------------------------------------
  private async groupPage(id: number): Promise<void> {
    const [groups, members, people, series] = await Promise.all([
      api.groups(this.org), api.members(id), api.people(this.org), api.series(id),
    ]);
    const group = groups.find((g) => g.id === id);
    if (!group) throw new Error("no such group");
    const enrolled = new Set(members.filter((m) => m.status !== "withdrawn").map((m) => m.person_id));
    const status = h("p", { role: "status", "data-testid": "members-status" });
    const rows = members.map((m) =>
      h(
        "tr", {},
        h("td", { text: m.display_name }), h("td", { text: m.role }), h("td", { text: m.status }),
        h("td", {},
          h("button", { type: "button", text: "Invite link", onclick: () => this.invite(m.person_id, status) }),
          m.status !== "withdrawn"
            ? h("button", { type: "button", text: "Withdraw", onclick: () => void api.withdraw(id, m.person_id).then(() => this.route(), (e) => (status.textContent = message(e))) })
            : null,
        ),
      ),
    );
    const candidates = people.filter((p) => !enrolled.has(p.id));
    const pick = h("select", { name: "person" }, ...candidates.map((p) => h("option", { value: String(p.id), text: `${p.display_name} <${p.email}>` })));
    const enrol = h("form", { class: "inline" }, field("Person", pick),
      h("button", { type: "submit", text: "Enrol", disabled: candidates.length === 0 }));
    enrol.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.enrol(id, Number(pick.value)).then(
        (r) => { status.textContent = r.status === "waiting" ? "The group is full: on the waiting list." : "Enrolled."; void this.route(); },
        (e) => (status.textContent = message(e)),
      );
    });
    const membersCard = h(
      "section", { class: "card" }, h("h2", { text: `Members of ${group.name}` }),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Name", "Role", "Status", ""].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, ...rows)),
      enrol, status,
    );
    this.render([h("h2", { text: group.name }), membersCard, this.bookingForm(group), ...series.map((s) => this.seriesCard(s))]);
  }

  private invite(personId: number, status: HTMLElement): void {
    api.invite(personId).then(
      (r) => status.replaceChildren("One-click link (send it to the person): ", h("input", { readonly: true, value: r.url, "aria-label": "Invitation link", size: 60 })),
      (e) => (status.textContent = message(e)),
    );
  }

  private bookingForm(group: Group): HTMLElement {
    const d = DEFAULTS[group.protocol] ?? { sessions: 8, duration: 60 };
    const title = h("input", { name: "title", required: true, value: `${group.name} series` });
    const sessions = h("input", { name: "sessions", type: "number", min: 1, max: 52, value: d.sessions });
    const days = WEEKDAYS.map(([code, label]) => {
      const box = h("input", { type: "checkbox", name: "weekday", value: code });
      return { code, box, el: h("label", { class: "day" }, box, label) };
    });
    const time = h("input", { name: "local_time", type: "time", value: "19:00", required: true });
    const start = h("input", { name: "start_date", type: "date", required: true });
    const duration = h("input", { name: "duration", type: "number", min: 15, max: 480, value: d.duration });
    const tz = h("input", { name: "timezone", value: Intl.DateTimeFormat().resolvedOptions().timeZone, required: true });
    const out = h("div", { "aria-live": "polite", "data-testid": "preview" });
    const bookBtn = h("button", { type: "button", class: "primary", text: "Book series", disabled: true });
    const body = (): SeriesIn => ({
      title: title.value, sessions: Number(sessions.value), weekdays: days.filter((x) => x.box.checked).map((x) => x.code),
      local_time: time.value, start_date: start.value, duration_minutes: Number(duration.value), timezone: tz.value,
    });
    const form = h(
      "form", { class: "card", "aria-labelledby": "book" },
      h("h2", { id: "book", text: "Book a series" }),
      field("Title", title), field("Number of sessions", sessions),
      h("fieldset", {}, h("legend", { text: "Weekdays" }), ...days.map((x) => x.el)),
      field("Local time", time), field("First date", start), field("Minutes per session", duration),
      field("Timezone of the group", tz, "IANA name, for example Europe/Amsterdam or Asia/Tehran"),
      h("button", { type: "submit", text: "Preview" }), bookBtn, out,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      bookBtn.disabled = true;
      api.preview(group.id, body()).then(
        (p) => { this.showPreview(out, p); bookBtn.disabled = !p.ok; },
        (e) => this.showError(out, e),
      );
    });
    bookBtn.addEventListener("click", () => {
      bookBtn.disabled = true;
      api.book(group.id, body()).then(() => this.route(), (e) => this.showError(out, e));
    });
    return form;
  }

  private showPreview(out: HTMLElement, p: Preview): void {
    const problems = p.problems.map((x) => h("li", { class: x.kind, text: `${x.kind === "refuse" ? "Cannot book" : "Warning"}: ${x.message}` }));
    const rows = p.sessions.map((s) =>
      h("tr", {}, h("td", { text: String(s.index) }), h("td", { text: `${s.weekday} ${s.local.replace("T", " ")}` }),
        h("td", { text: `UTC${s.utc_offset}` }), h("td", { text: new Date(s.starts_at).toLocaleString() })),
    );
    out.replaceChildren(
      h("h3", { text: p.ok ? "Preview: ready to book" : "Preview: cannot book yet" }),
      h("ul", { class: "problems" }, ...problems),
      h("table", {}, h("thead", {}, h("tr", {}, ...["#", "Group's time", "Offset", "Your time"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, ...rows)),
    );
  }

  private showError(out: HTMLElement, e: unknown): void {
    const details = e instanceof ApiError ? e.details : {};
    const fields = (details.fields ?? {}) as Record<string, string>;
    const problems = (details.problems ?? []) as { message: string }[];
    out.replaceChildren(
      h("p", { role: "alert", text: message(e) }),
      h("ul", {}, ...Object.entries(fields).map(([k, v]) => h("li", { text: `${k}: ${v}` })), ...problems.map((p) => h("li", { text: p.message }))),
    );
  }

  private seriesCard(s: Series): HTMLElement {
    const status = h("p", { role: "status" });
    const rows = s.sessions.map((x) => {
      const date = h("input", { type: "date", "aria-label": `New date for session ${x.index}`, value: x.local_start.slice(0, 10) });
      const time = h("input", { type: "time", "aria-label": `New time for session ${x.index}`, value: x.local_start.slice(11, 16) });
      const editable = x.status === "scheduled";
      return h(
        "tr", { "data-session": String(x.id) },
        h("td", { text: x.is_makeup ? "make-up" : String(x.index) }),
        h("td", { text: `${x.local_start.replace("T", " ")} (${x.timezone})` }),
        h("td", { text: x.my_local_start.replace("T", " ") }),
        h("td", { text: x.status }),
        h("td", {}, editable ? date : null, editable ? time : null,
          editable ? h("button", { type: "button", text: "Move", onclick: () => void api.move(x.id, date.value, time.value).then(() => this.route(), (e) => (status.textContent = message(e))) }) : null,
          editable ? h("button", { type: "button", text: "Cancel", onclick: () => void api.cancel(x.id).then(() => this.route(), (e) => (status.textContent = message(e))) }) : null,
          editable ? h("button", { type: "button", text: "Cancel this and the rest", onclick: () => void api.cancelRest(x.id).then(() => this.route(), (e) => (status.textContent = message(e))) }) : null),
      );
    });
    const next = s.sessions.find((x) => x.status === "scheduled");
    const mkDate = h("input", { type: "date", "aria-label": "Make-up date", required: true });
    const mkTime = h("input", { type: "time", "aria-label": "Make-up time", value: next?.local_start.slice(11, 16) ?? "19:00", required: true });
    const makeup = h("form", { class: "inline" }, h("span", { text: "Add a make-up session:" }), mkDate, mkTime,
      h("button", { type: "submit", text: "Add make-up session" }));
    makeup.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.makeup(s.id, mkDate.value, mkTime.value).then(() => this.route(), (e) => (status.textContent = message(e)));
    });
    const restDays = WEEKDAYS.map(([code, label]) => {
      const box = h("input", { type: "checkbox", value: code });
      return { code, box, el: h("label", { class: "day" }, box, label) };
    });
    const restTime = h("input", { type: "time", "aria-label": "New time for the rest", value: next?.local_start.slice(11, 16) ?? "19:00" });
    const restFrom = h("input", { type: "date", "aria-label": "Rest starts on", value: next?.local_start.slice(0, 10) ?? "" });
    const rest = h("form", { class: "inline" },
      h("fieldset", {}, h("legend", { text: "New weekly pattern from the next session on" }), ...restDays.map((d) => d.el)),
      restTime, restFrom, h("button", { type: "submit", text: "Change the rest", disabled: !next }));
    rest.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!next) return;
      const days = restDays.filter((d) => d.box.checked).map((d) => d.code);
      api.changeRest(next.id, days, restTime.value, restFrom.value).then(() => this.route(), (e) => (status.textContent = message(e)));
    });
    const confirmed = h("ul", { "data-testid": "confirmations" });
    void api.confirmations(s.id).then((list) =>
      confirmed.replaceChildren(...list.filter((c) => c.role === "member").map((c) =>
        h("li", { text: `${c.display_name}: ${c.confirmed_at ? "confirmed" : "not yet confirmed"}` }))),
    );
    return h(
      "section", { class: "card series", "data-series": String(s.id) },
      h("h2", { text: s.title }),
      h("p", {}, h("a", { href: `/api/series/${s.id}/calendar.ics`, text: "Download calendar (.ics)" })),
      h("table", {}, h("thead", {}, h("tr", {}, ...["#", "Group's time", "Your time", "Status", "Change"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, ...rows)),
      status, makeup, rest, h("h3", { text: "Who confirmed" }), confirmed,
    );
  }

  // ---- outbox -------------------------------------------------------------------------------
  private async outboxPage(): Promise<void> {
    const messages = await api.outbox(this.org);
    const failed = messages.filter((m) => m.status === "failed").length;
    const rows = messages.map((m) =>
      h("tr", { class: m.status }, h("td", { text: new Date(m.created_at).toLocaleString() }), h("td", { text: m.to_address }),
        h("td", { text: m.kind }), h("td", { text: m.subject }), h("td", { text: m.status }), h("td", { text: m.last_error ?? "" })),
    );
    this.render([
      h("section", { class: "card" }, h("h2", { text: "Outbox" }),
        failed ? h("p", { role: "alert", text: `${failed} message(s) could not be sent after retries.` }) : null,
        h("table", {}, h("thead", {}, h("tr", {}, ...["When", "To", "Kind", "Subject", "Status", "Error"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, ...rows))),
    ]);
  }
}

const root = document.getElementById("coordinator");
if (root) void new Coordinator(root).start();
