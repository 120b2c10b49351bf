// The coordinator pages (/app/coordinator.html): groups, members and one-click invitations,
// booking a series with its preview, changing sessions, confirmations, and the outbox.
// Routes live in the hash: #/ (groups), #/group/<id>, #/outbox.

import "../ui/styles.css";
import "./coordinator.css";
import { I18n, LOCALES, LOCALE_NAMES, type MessageKey, chooseLocale, isLocale, validTimeZone } from "../i18n";
import { h, type Child } from "../ui/dom";
import { CircleError } from "../protocol/types";
import { attendanceHref } from "../attendance/links";
import { msg } from "../attendance/messages";
import { api, type Group, type Preview, type Series, type SeriesIn, type Weekday } from "./api";

const WEEKDAY_CODES: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const PROTOCOLS = ["balint", "dynamic", "peer_support"] as const;
const DEFAULTS: Record<string, { sessions: number; duration: number }> = {
  balint: { sessions: 8, duration: 60 },
  dynamic: { sessions: 16, duration: 90 },
  peer_support: { sessions: 3, duration: 60 },
};

/**
 * The server words its refusals in English. In English they are shown as worded (they carry the
 * exact limits); in Persian and Dutch a known code is shown from the catalogue instead: an error
 * code's `coord.error.<code>` where the member's wording does not fit a coordinator, else its
 * `error.<code>`.
 */
function serverText(i18n: I18n, prefix: "coord.problem." | "error.", code: string, text: string, index?: number | null): string {
  if (i18n.locale === "en") return text;
  const own = prefix === "error." ? `coord.error.${code}` : null;
  const key = own !== null && i18n.has(own) ? own : `${prefix}${code}`;
  if (!i18n.has(key)) return text;
  const template = i18n.t(key);
  if (template.includes("{n}") && (index === null || index === undefined)) return text;
  return i18n.t(key, index === null || index === undefined ? {} : { n: index });
}

/** A catalogue key built from a server value (status, role, method); the raw value otherwise. */
function label(i18n: I18n, prefix: string, value: string): string {
  return i18n.maybe(`${prefix}${value}`) ?? value.replace(/_/g, " ");
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A date-time shown in the locale, with the machine-readable local wall time for tests and tools. */
function when(i18n: I18n, iso: string | number, local?: string): HTMLElement {
  const ms = typeof iso === "number" ? iso : Date.parse(iso);
  return h("time", { datetime: local ?? new Date(ms).toISOString(), text: i18n.dateTime(ms) });
}

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { text: label }), input, hint ? h("small", { text: hint }) : null);
}

class Coordinator {
  private message(e: unknown): string {
    if (e instanceof CircleError) return serverText(this.i18n, "error.", e.code, e.message);
    return e instanceof Error ? e.message : String(e);
  }

  private org = 0;
  /** Only admins make one-click sign-in links (and only for people new to the app). */
  private admin = false;
  private profile: { locale: string | null; timezone: string | null } = { locale: null, timezone: null };
  private i18n: I18n;
  private readonly params = new URLSearchParams(location.search);

  constructor(private readonly root: HTMLElement) {
    this.i18n = this.makeI18n();
    this.applyLocale();
    root.replaceChildren(h("p", { text: this.t("app.loading") }));
    window.addEventListener("hashchange", () => void this.route());
  }

  /** The same choice as the main client: ?lang=, then the profile, then the browser. */
  private makeI18n(): I18n {
    const zone = validTimeZone(this.profile.timezone) ? this.profile.timezone : browserZone();
    return new I18n(chooseLocale(this.params.get("lang"), this.profile.locale, navigator.languages ?? []), zone);
  }

  private applyLocale(): void {
    const html = document.documentElement;
    html.lang = this.i18n.locale;
    html.dir = this.i18n.dir;
    document.title = `${this.i18n.t("app.name")}: ${this.i18n.t("coord.title")}`;
  }

  private t(key: MessageKey, params: Record<string, string | number> = {}): string {
    return this.i18n.t(key, params);
  }

  private languageMenu(): HTMLElement {
    const select = h(
      "select", { "aria-label": this.t("app.language") },
      ...LOCALES.map((l) => h("option", { value: l, lang: l, selected: l === this.i18n.locale, text: LOCALE_NAMES[l] })),
    );
    select.addEventListener("change", () => {
      const v = select.value;
      if (!isLocale(v)) return;
      this.params.set("lang", v);
      history.replaceState(null, "", `?${this.params.toString()}${location.hash}`);
      this.i18n = this.makeI18n();
      this.applyLocale();
      void (this.org ? this.route() : Promise.resolve(this.login()));
    });
    return h("label", { class: "lang" }, select);
  }

  async start(): Promise<void> {
    await api.prime();
    try {
      const me = await api.me();
      this.org = me.organisation_id;
      this.admin = me.roles.includes("admin");
      this.profile = { locale: me.locale ?? null, timezone: me.timezone ?? null };
      this.i18n = this.makeI18n();
      this.applyLocale();
    } catch (e) {
      if (e instanceof CircleError && e.status === 401) return this.login();
      return this.render([h("p", { role: "alert", text: this.message(e) })]);
    }
    await this.route();
  }

  private render(children: Child[]): void {
    const nav = h(
      "nav", { "aria-label": this.t("coord.nav") },
      h("a", { href: "#/", text: this.t("coord.nav.groups") }), " · ", h("a", { href: "#/outbox", text: this.t("coord.nav.outbox") }), " · ", h("a", { href: "/app/outcomes.html", text: this.t("coord.nav.outcomes") }),
    );
    this.root.replaceChildren(h("header", {}, h("h1", { text: this.t("coord.title") }), nav, this.languageMenu()), ...children.filter((c): c is Node | string => !!c));
  }

  private login(): void {
    const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    const status = h("p", { role: "status" });
    const form = h(
      "form", { class: "card" },
      h("h2", { text: this.t("coord.login.title") }), field(this.t("coord.login.email"), email), field(this.t("coord.login.password"), password),
      h("button", { type: "submit", class: "primary", text: this.t("coord.login.submit") }), status,
      // Reset by e-mail lives in the member app (the same account); it opens on its form.
      h("p", {}, h("a", { href: "/app/#forgot", "data-testid": "forgot-link", text: this.t("coord.login.forgot") })),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.login(email.value, password.value).then(() => this.start(), (e) => (status.textContent = this.message(e)));
    });
    this.root.replaceChildren(h("header", {}, h("h1", { text: this.t("coord.title") }), this.languageMenu()), form);
  }

  private async route(): Promise<void> {
    const hash = location.hash || "#/";
    const group = /^#\/group\/(\d+)$/.exec(hash);
    try {
      if (group?.[1]) await this.groupPage(Number(group[1]));
      else if (hash === "#/outbox") await this.outboxPage();
      else await this.groupsPage();
    } catch (e) {
      this.render([h("p", { role: "alert", text: this.message(e) })]);
    }
  }

  // ---- groups -------------------------------------------------------------------------------
  private async groupsPage(): Promise<void> {
    const groups = await api.groups(this.org);
    const name = h("input", { name: "group-name", required: true, maxlength: 200 });
    const protocol = h("select", { name: "protocol" }, ...PROTOCOLS.map((v) => h("option", { value: v, text: this.t(`coord.protocol.${v}`) })));
    const status = h("p", { role: "status" });
    const form = h(
      "form", { class: "card", "aria-labelledby": "new-group" },
      h("h2", { id: "new-group", text: this.t("coord.groups.new") }), field(this.t("coord.groups.name"), name), field(this.t("coord.groups.method"), protocol),
      h("button", { type: "submit", class: "primary", text: this.t("coord.groups.create") }), status,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.createGroup(this.org, name.value, protocol.value as Group["protocol"]).then(
        (g) => (location.hash = `#/group/${g.id}`),
        (e) => (status.textContent = this.message(e)),
      );
    });
    const list = h(
      "ul", { class: "groups" },
      ...groups.map((g) =>
        h("li", {}, h("a", { href: `#/group/${g.id}`, text: g.name }), " ",
          this.t("coord.groups.summary", { method: label(this.i18n, "coord.protocol.", g.protocol), n: g.member_count, capacity: g.capacity })),
      ),
    );
    this.render([h("section", { class: "card" }, h("h2", { text: this.t("coord.groups.title") }), groups.length ? list : h("p", { text: this.t("coord.groups.none") })), form]);
  }

  // ---- one group ----------------------------------------------------------------------------
  private async groupPage(id: number): Promise<void> {
    const [groups, members, people, series] = await Promise.all([
      api.groups(this.org), api.members(id), api.people(this.org), api.series(id),
    ]);
    const group = groups.find((g) => g.id === id);
    if (!group) throw new Error(this.t("coord.group.missing"));
    const enrolled = new Set(members.filter((m) => m.status !== "withdrawn").map((m) => m.person_id));
    const status = h("p", { role: "status", "data-testid": "members-status" });
    const rows = members.map((m) =>
      h(
        "tr", {},
        h("td", { text: m.display_name }), h("td", { text: label(this.i18n, "tile.role.", m.role) }),
        h("td", { text: label(this.i18n, "coord.membership.", m.status) }),
        h("td", {},
          this.admin
            ? h("button", { type: "button", text: this.t("coord.members.invite"), onclick: () => this.invite(m.person_id, status) })
            : null,
          m.status !== "withdrawn"
            ? h("button", { type: "button", text: this.t("coord.members.withdraw"), onclick: () => void api.withdraw(id, m.person_id).then(() => this.route(), (e) => (status.textContent = this.message(e))) })
            : null,
        ),
      ),
    );
    const candidates = people.filter((p) => !enrolled.has(p.id));
    const pick = h("select", { name: "person" }, ...candidates.map((p) => h("option", { value: String(p.id), text: `${p.display_name} <${p.email}>` })));
    const enrol = h("form", { class: "inline" }, field(this.t("coord.members.person"), pick),
      h("button", { type: "submit", text: this.t("coord.members.enrol"), disabled: candidates.length === 0 }));
    enrol.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.enrol(id, Number(pick.value)).then(
        (r) => { status.textContent = r.status === "waiting" ? this.t("coord.members.waiting") : this.t("coord.members.enrolled"); void this.route(); },
        (e) => (status.textContent = this.message(e)),
      );
    });
    const membersCard = h(
      "section", { class: "card" }, h("h2", { text: this.t("coord.members.title", { group: group.name }) }),
      h("table", {}, this.head(["coord.members.name", "coord.members.role", "coord.members.status", "coord.members.actions"]), h("tbody", {}, ...rows)),
      enrol, status,
    );
    this.render([h("h2", { text: group.name }), membersCard, this.bookingForm(group), ...series.map((s) => this.seriesCard(s))]);
  }

  private invite(personId: number, status: HTMLElement): void {
    api.invite(personId).then(
      (r) => status.replaceChildren(`${this.t("coord.members.link")} `, h("input", { readonly: true, dir: "ltr", value: r.url, "aria-label": this.t("coord.members.link.label"), size: 60 })),
      (e) => (status.textContent = this.message(e)),
    );
  }

  private bookingForm(group: Group): HTMLElement {
    const d = DEFAULTS[group.protocol] ?? { sessions: 8, duration: 60 };
    const title = h("input", { name: "title", required: true, value: this.t("coord.book.default", { group: group.name }) });
    const sessions = h("input", { name: "sessions", type: "number", min: 1, max: 52, value: d.sessions });
    const names = this.i18n.weekdays();
    const days = WEEKDAY_CODES.map((code, i) => {
      const box = h("input", { type: "checkbox", name: "weekday", value: code });
      return { code, box, el: h("label", { class: "day" }, box, names[i] ?? code) };
    });
    const time = h("input", { name: "local_time", type: "time", value: "19:00", required: true });
    const start = h("input", { name: "start_date", type: "date", required: true });
    const duration = h("input", { name: "duration", type: "number", min: 15, max: 480, value: d.duration });
    const tz = h("input", { name: "timezone", value: browserZone(), dir: "ltr", required: true });
    const out = h("div", { "aria-live": "polite", "data-testid": "preview" });
    const bookBtn = h("button", { type: "button", class: "primary", text: this.t("coord.book.submit"), disabled: true });
    const body = (): SeriesIn => ({
      title: title.value, sessions: Number(sessions.value), weekdays: days.filter((x) => x.box.checked).map((x) => x.code),
      local_time: time.value, start_date: start.value, duration_minutes: Number(duration.value), timezone: tz.value,
    });
    const form = h(
      "form", { class: "card", "aria-labelledby": "book" },
      h("h2", { id: "book", text: this.t("coord.book.title") }),
      field(this.t("coord.book.name"), title), field(this.t("coord.book.sessions"), sessions),
      h("fieldset", {}, h("legend", { text: this.t("coord.book.weekdays") }), ...days.map((x) => x.el)),
      field(this.t("coord.book.time"), time), field(this.t("coord.book.start"), start), field(this.t("coord.book.duration"), duration),
      field(this.t("coord.book.timezone"), tz, this.t("coord.book.timezone.hint")),
      h("button", { type: "submit", text: this.t("coord.book.preview") }), bookBtn, out,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      bookBtn.disabled = true;
      api.preview(group.id, body()).then(
        (p) => { this.showPreview(out, p, tz.value); bookBtn.disabled = !p.ok; },
        (e) => this.showError(out, e),
      );
    });
    bookBtn.addEventListener("click", () => {
      bookBtn.disabled = true;
      api.book(group.id, body()).then(() => this.route(), (e) => this.showError(out, e));
    });
    return form;
  }

  private head(keys: MessageKey[]): HTMLElement {
    return h("thead", {}, h("tr", {}, ...keys.map((k) => h("th", { scope: "col", text: this.t(k) }))));
  }

  private showPreview(out: HTMLElement, p: Preview, zone: string): void {
    const problems = p.problems.map((x) =>
      h("li", {
        class: x.kind,
        text: this.t(x.kind === "refuse" ? "coord.preview.refuse" : "coord.preview.warn", {
          message: serverText(this.i18n, "coord.problem.", x.code, x.message, x.session_index),
        }),
      }));
    const group = this.i18n.inZone(zone);
    const rows = p.sessions.map((s) =>
      h("tr", {}, h("td", { text: this.i18n.number(s.index) }), h("td", {}, when(group, s.starts_at, s.local)),
        h("td", {}, h("bdi", { dir: "ltr", text: `UTC${s.utc_offset}` })), h("td", {}, when(this.i18n, s.starts_at))),
    );
    out.replaceChildren(
      h("h3", { text: this.t(p.ok ? "coord.preview.ok" : "coord.preview.blocked") }),
      h("ul", { class: "problems" }, ...problems),
      h("table", {}, this.head(["coord.col.index", "coord.col.group_time", "coord.col.offset", "coord.col.your_time"]), h("tbody", {}, ...rows)),
    );
  }

  private showError(out: HTMLElement, e: unknown): void {
    const details = e instanceof CircleError ? e.details : {};
    const fields = (details.fields ?? {}) as Record<string, string>;
    const problems = (details.problems ?? []) as { code: string; message: string; session_index?: number | null }[];
    out.replaceChildren(
      h("p", { role: "alert", text: this.message(e) }),
      h("ul", {}, ...Object.entries(fields).map(([k, v]) => h("li", { text: `${k}: ${v}` })), ...problems.map((p) => h("li", { text: serverText(this.i18n, "coord.problem.", p.code, p.message, p.session_index) }))),
    );
  }

  private seriesCard(s: Series): HTMLElement {
    const status = h("p", { role: "status" });
    const rows = s.sessions.map((x) => {
      const date = h("input", { type: "date", "aria-label": this.t("coord.series.new_date", { n: x.index }), value: x.local_start.slice(0, 10) });
      const time = h("input", { type: "time", "aria-label": this.t("coord.series.new_time", { n: x.index }), value: x.local_start.slice(11, 16) });
      const editable = x.status === "scheduled";
      return h(
        "tr", { "data-session": String(x.id) },
        h("td", { text: x.is_makeup ? this.t("coord.series.makeup") : this.i18n.number(x.index) }),
        h("td", {}, when(this.i18n.inZone(x.timezone), x.starts_at, x.local_start.slice(0, 16)), " ", h("bdi", { dir: "ltr", text: `(${x.timezone})` })),
        h("td", {}, when(this.i18n, x.starts_at)),
        h("td", { text: label(this.i18n, "coord.session.", x.status) }),
        h("td", {}, editable ? date : null, editable ? time : null,
          editable ? h("button", { type: "button", text: this.t("coord.series.move"), onclick: () => void api.move(x.id, date.value, time.value).then(() => this.route(), (e) => (status.textContent = this.message(e))) }) : null,
          editable ? h("button", { type: "button", text: this.t("coord.series.cancel"), onclick: () => void api.cancel(x.id).then(() => this.route(), (e) => (status.textContent = this.message(e))) }) : null,
          editable ? h("button", { type: "button", text: this.t("coord.series.cancel_rest"), onclick: () => void api.cancelRest(x.id).then(() => this.route(), (e) => (status.textContent = this.message(e))) }) : null),
      );
    });
    const next = s.sessions.find((x) => x.status === "scheduled");
    const mkDate = h("input", { type: "date", "aria-label": this.t("coord.series.makeup.date"), required: true });
    const mkTime = h("input", { type: "time", "aria-label": this.t("coord.series.makeup.time"), value: next?.local_start.slice(11, 16) ?? "19:00", required: true });
    const makeup = h("form", { class: "inline" }, h("span", { text: this.t("coord.series.makeup.add") }), mkDate, mkTime,
      h("button", { type: "submit", text: this.t("coord.series.makeup.submit") }));
    makeup.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.makeup(s.id, mkDate.value, mkTime.value).then(() => this.route(), (e) => (status.textContent = this.message(e)));
    });
    const names = this.i18n.weekdays();
    const restDays = WEEKDAY_CODES.map((code, i) => {
      const box = h("input", { type: "checkbox", value: code });
      return { code, box, el: h("label", { class: "day" }, box, names[i] ?? code) };
    });
    const restTime = h("input", { type: "time", "aria-label": this.t("coord.series.rest.time"), value: next?.local_start.slice(11, 16) ?? "19:00" });
    const restFrom = h("input", { type: "date", "aria-label": this.t("coord.series.rest.from"), value: next?.local_start.slice(0, 10) ?? "" });
    const rest = h("form", { class: "inline" },
      h("fieldset", {}, h("legend", { text: this.t("coord.series.rest.pattern") }), ...restDays.map((d) => d.el)),
      restTime, restFrom, h("button", { type: "submit", text: this.t("coord.series.rest.submit"), disabled: !next }));
    rest.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!next) return;
      const days = restDays.filter((d) => d.box.checked).map((d) => d.code);
      api.changeRest(next.id, days, restTime.value, restFrom.value).then(() => this.route(), (e) => (status.textContent = this.message(e)));
    });
    const confirmed = h("ul", { "data-testid": "confirmations" });
    void api.confirmations(s.id).then((list) =>
      confirmed.replaceChildren(...list.filter((c) => c.role === "member").map((c) =>
        h("li", { text: this.t(c.confirmed_at ? "coord.series.confirmed" : "coord.series.unconfirmed", { name: c.display_name }) }))),
    );
    return h(
      "section", { class: "card series", "data-series": String(s.id) },
      h("h2", { text: s.title }),
      h("p", {}, h("a", { href: `/api/series/${s.id}/calendar.ics`, text: this.t("coord.series.calendar") }), " · ",
        h("a", { href: attendanceHref(s.id, this.i18n.locale), "data-testid": "attendance-link", text: msg(this.i18n.locale, "attendanceLink") })),
      h("table", {}, this.head(["coord.col.index", "coord.col.group_time", "coord.col.your_time", "coord.col.status", "coord.col.change"]), h("tbody", {}, ...rows)),
      status, makeup, rest, h("h3", { text: this.t("coord.series.confirmed.title") }), confirmed,
    );
  }

  // ---- outbox -------------------------------------------------------------------------------
  private async outboxPage(): Promise<void> {
    const messages = await api.outbox(this.org);
    const failed = messages.filter((m) => m.status === "failed").length;
    const rows = messages.map((m) =>
      h("tr", { class: m.status }, h("td", {}, when(this.i18n, m.created_at)), h("td", {}, h("bdi", { text: m.to_address })),
        h("td", { text: m.kind }), h("td", { text: m.subject }),
        h("td", { text: m.status === "failed" ? this.t("coord.outbox.failed.status") : label(this.i18n, "coord.outbox.", m.status) }),
        h("td", { text: m.last_error ?? "" })),
    );
    this.render([
      h("section", { class: "card" }, h("h2", { text: this.t("coord.outbox.title") }),
        failed ? h("p", { role: "alert", text: this.t("coord.outbox.failed", { n: failed }) }) : null,
        h("table", {}, this.head(["coord.outbox.when", "coord.outbox.to", "coord.outbox.kind", "coord.outbox.subject", "coord.outbox.status", "coord.outbox.error"]), h("tbody", {}, ...rows))),
    ]);
  }
}

const root = document.getElementById("coordinator");
if (root) void new Coordinator(root).start();
