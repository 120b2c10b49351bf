// The coordinator pages (/app/coordinator.html): home (groups, whether mail goes out, the
// organisation's zone and holidays), a group (roles, invitations, CSV import, reminders,
// booking, series) and the outbox. Routes live in the hash: #/, #/group/<id>, #/outbox.
// The member app's stylesheet is the one design system; coordinator.css only lays out tables.

import "../ui/styles.css";
import "./coordinator.css";
import { I18n, LOCALES, LOCALE_NAMES, type MessageKey, chooseLocale, isLocale, validTimeZone } from "../i18n";
import { h, type Child } from "../ui/dom";
import { CircleError } from "../protocol/types";
import { api } from "./api";
import { groupPage } from "./group";
import { homePage, outboxPage } from "./home";
import { type Page, browserZone, errorMessage, field } from "./page";
import { type FlashMessage, flashBox } from "./ui";

class Coordinator implements Page {
  org = 0;
  /** Only admins make one-click sign-in links (and only for people new to the app). */
  private admin = false;
  private profile: { locale: string | null; timezone: string | null } = { locale: null, timezone: null };
  private orgZone: string | null = null;
  i18n: I18n;
  private flash: FlashMessage | null = null;
  private turn = 0;
  private readonly params = new URLSearchParams(location.search);

  constructor(private readonly root: HTMLElement) {
    this.i18n = this.makeI18n();
    this.applyLocale();
    root.replaceChildren(h("p", { text: this.t("app.loading") }));
    window.addEventListener("hashchange", () => { this.flash = null; void this.route(); });
  }

  message(e: unknown): string {
    return errorMessage(this.i18n, e);
  }

  t(key: MessageKey, params: Record<string, string | number> = {}): string {
    return this.i18n.t(key, params);
  }

  async done(msg: FlashMessage): Promise<void> {
    this.flash = msg;
    await this.route();
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

  private languageMenu(): HTMLElement {
    const select = h(
      "select", { id: "coord-lang", "data-testid": "lang-select" },
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
    return h("span", { class: "topbar-lang" }, h("label", { for: "coord-lang", text: this.t("app.language") }), select);
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
      this.orgZone = await api.calendar(this.org).then((c) => c.timezone, () => null);
    } catch (e) {
      if (e instanceof CircleError && e.status === 401) return this.login();
      return this.render([h("p", { role: "alert", text: this.message(e) })]);
    }
    await this.route();
  }

  private topbar(nav: boolean): HTMLElement {
    const links = nav
      ? h("nav", { "aria-label": this.t("coord.nav") },
        h("a", { href: "#/", text: this.t("coord.nav.groups") }), h("a", { href: "#/outbox", text: this.t("coord.nav.outbox") }),
        h("a", { href: "/app/outcomes.html", text: this.t("coord.nav.outcomes") }),
        h("a", { href: "/app/?list=1", "data-testid": "member-app-link", text: this.t("coord.nav.member_app") }))
      : null;
    return h("header", { class: "topbar coord-top" },
      h("a", { class: "skip", href: "#main", text: this.t("app.skip") }),
      h("span", { class: "brand", text: `${this.t("app.name")}: ${this.t("coord.title")}` }), links, this.languageMenu());
  }

  private render(children: Child[]): void {
    const main = h("main", { id: "main", tabindex: -1 }, flashBox(this.flash, () => { this.flash = null; }), ...children.filter((c): c is Node | string => !!c));
    this.root.replaceChildren(this.topbar(true), main);
    // The page was rebuilt: keyboard and screen-reader users continue from the message.
    const box = main.querySelector<HTMLElement>("[data-testid=flash]");
    if (this.flash && box) {
      box.tabIndex = -1;
      box.focus();
    }
  }

  private login(): void {
    const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, dir: "ltr" });
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, dir: "ltr" });
    const status = h("p", { role: "status" });
    const form = h(
      "form", { class: "card narrow" },
      h("h1", { text: this.t("coord.login.title") }), field(this.t("coord.login.email"), email), field(this.t("coord.login.password"), password),
      h("button", { type: "submit", class: "btn btn-primary", text: this.t("coord.login.submit") }), status,
      // Reset by e-mail lives in the member app (the same account); it opens on its form.
      h("p", {}, h("a", { href: "/app/#forgot", "data-testid": "forgot-link", text: this.t("coord.login.forgot") })),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.login(email.value, password.value).then(() => this.start(), (e) => (status.textContent = this.message(e)));
    });
    this.root.replaceChildren(this.topbar(false), h("main", { id: "main" }, form));
  }

  /** Re-render the page the hash names; a render that a later one overtook is dropped. */
  async route(): Promise<void> {
    const turn = ++this.turn;
    const hash = location.hash || "#/";
    const group = /^#\/group\/(\d+)$/.exec(hash);
    const zone = this.orgZone ?? browserZone();
    let parts: Child[];
    try {
      if (group?.[1]) parts = await groupPage(this, Number(group[1]), this.admin, zone);
      else if (hash === "#/outbox") parts = await outboxPage(this);
      else parts = await homePage(this, zone);
    } catch (e) {
      parts = [h("p", { role: "alert", text: this.message(e) })];
    }
    if (turn === this.turn) this.render(parts);
  }
}

const root = document.getElementById("coordinator");
if (root) void new Coordinator(root).start();
