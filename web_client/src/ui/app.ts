// The app shell: sign-in (and password reset by e-mail), picking the session, the lobby wait, the pre-join check, the room,
// and the pages after it. Owns the REST client and, while in a room, the RoomClient and
// MediaSession.

import { io } from "socket.io-client";
import { I18n, LOCALES, LOCALE_NAMES, chooseLocale, isLocale, validTimeZone } from "../i18n";
import { MAX_PASSWORD, MIN_PASSWORD, checkNewPassword, linkProblem, parseAuthFragment } from "../protocol/account";
import { Api, readCookie } from "../protocol/api";
import { MediaSession, type PeerLike } from "../protocol/media";
import { RoomClient, type SocketLike } from "../protocol/room-client";
import { SeriesConfirmations, seriesToConfirm } from "../protocol/confirm";
import { availability, pickSession, upcomingSessions } from "../protocol/schedule";
import type { Me, SessionSummary } from "../protocol/types";
import { CircleError } from "../protocol/types";
import { type DeviceChoice, type JoinMode, acquireMedia, stopStream } from "./devices";
import { ConfirmPanel } from "./confirm";
import { h } from "./dom";
import { icon } from "./icons";
import { Feedback, errorText } from "./feedback";
import { PrejoinScreen } from "./prejoin";
import { RoomScreen } from "./room";
import type { Screen } from "./screen";
import { clearRejoin, loadRejoin, saveRejoin } from "./storage";

class SimpleScreen implements Screen {
  constructor(
    readonly el: HTMLElement,
    readonly title: string,
    private readonly cleanup: () => void = () => undefined,
  ) {}
  destroy(): void {
    this.cleanup();
  }
}

export class App {
  private readonly api = new Api(
    (url, init) => fetch(url, init),
    () => readCookie(document.cookie, "circle_csrf"),
  );
  private readonly params = new URLSearchParams(window.location.search);
  private readonly confirmations = new SeriesConfirmations(this.api);
  private sessions: SessionSummary[] = [];
  private i18n: I18n;
  private readonly main: HTMLElement;
  private readonly header: HTMLElement;
  private readonly feedback: Feedback;
  private screen: Screen | null = null;
  private me: Me | null = null;
  private session: SessionSummary | null = null;
  private room: {
    client: RoomClient;
    media: MediaSession;
    stream: MediaStream | null;
    mode: JoinMode;
    choice: DeviceChoice;
  } | null = null;
  private rerender: () => void = () => undefined;

  constructor(private readonly root: HTMLElement) {
    this.i18n = this.makeI18n(null, null);
    this.header = h("header", { class: "topbar" });
    this.main = h("main", { id: "main", tabindex: "-1" });
    root.replaceChildren(this.header, this.main);
    this.feedback = new Feedback(root);
    this.applyLocale();
    window.addEventListener("pagehide", () => this.room?.media.close());
    // A reset link opened in a tab that already shows the app changes only the fragment.
    window.addEventListener("hashchange", () => {
      if (parseAuthFragment(window.location.hash) === null) return;
      this.closeRoom();
      void this.start();
    });
  }

  async start(): Promise<void> {
    const fragment = parseAuthFragment(window.location.hash);
    if (fragment !== null) {
      // A reset link's token must not stay in the address bar, the history or a bookmark.
      this.replaceUrl();
      if (fragment.kind === "reset") this.showReset(fragment.token);
      else this.showForgot("");
      return;
    }
    this.showSimple(this.i18n.t("app.loading"), h("p", { class: "loading", text: this.i18n.t("app.loading") }));
    try {
      this.me = await this.api.me();
    } catch (e) {
      if (e instanceof CircleError && (e.status === 401 || e.code === "unauthenticated")) {
        this.showLogin();
        return;
      }
      this.showError(e);
      return;
    }
    this.i18n = this.makeI18n(this.me.locale, this.me.timezone);
    this.applyLocale();
    await this.route();
  }

  // ---- locale ----

  private makeI18n(profileLocale: string | null, profileZone: string | null): I18n {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const zone = validTimeZone(profileZone) ? profileZone : browserZone;
    return new I18n(chooseLocale(this.params.get("lang"), profileLocale, navigator.languages ?? []), zone);
  }

  private applyLocale(): void {
    const html = document.documentElement;
    html.lang = this.i18n.locale;
    html.dir = this.i18n.dir;
    const selectId = "lang-select";
    const select = h(
      "select",
      { id: selectId, "data-testid": "lang-select" },
      ...LOCALES.map((l) => h("option", { value: l, lang: l, selected: l === this.i18n.locale, text: LOCALE_NAMES[l] })),
    );
    select.addEventListener("change", () => {
      const v = select.value;
      if (!isLocale(v)) return;
      this.i18n = new I18n(v, this.i18n.timeZone);
      this.params.set("lang", v);
      this.replaceUrl();
      this.applyLocale();
      this.rerender();
    });
    this.header.replaceChildren(
      h("a", { class: "skip", href: "#main", text: this.i18n.t("app.skip") }),
      h("span", { class: "brand with-icon" }, icon("circle"), this.i18n.t("app.name")),
      h("span", { class: "topbar-lang" }, h("label", { for: selectId, text: this.i18n.t("app.language") }), select),
    );
  }

  private replaceUrl(): void {
    const q = this.params.toString();
    window.history.replaceState(null, "", `${window.location.pathname}${q ? `?${q}` : ""}`);
  }

  // ---- screens ----

  private show(screen: Screen, rerender: () => void): void {
    this.screen?.destroy();
    this.screen = screen;
    this.rerender = rerender;
    this.main.replaceChildren(screen.el);
    document.title = `${screen.title} · ${this.i18n.t("app.name")}`;
    const heading = screen.el.querySelector("h1");
    if (heading instanceof HTMLElement && !screen.el.classList.contains("room")) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  private showSimple(title: string, ...content: HTMLElement[]): void {
    this.show(new SimpleScreen(h("section", { class: "card" }, ...content), title), () => this.showSimple(title, ...content));
  }

  private showError(e: unknown, retry: () => void = () => void this.start()): void {
    const t = this.i18n.t.bind(this.i18n);
    const err = e instanceof CircleError ? e : new CircleError("network", String(e));
    const el = h(
      "section",
      { class: "card", "data-testid": "error-page", "data-code": err.code },
      h("h1", { text: t("failed.title") }),
      h("p", { role: "alert", text: errorText(this.i18n, err.code, err.message) }),
      h("button", { type: "button", class: "btn btn-primary", text: t("error.retry"), onclick: retry }),
    );
    this.show(new SimpleScreen(el, t("failed.title")), () => this.showError(e, retry));
  }

  private showLogin(): void {
    const t = this.i18n.t.bind(this.i18n);
    const email = h("input", { id: "login-email", type: "email", name: "email", autocomplete: "username", required: true });
    const password = h("input", { id: "login-password", type: "password", name: "password", autocomplete: "current-password", required: true });
    const status = h("p", { role: "alert", class: "problem-text" });
    const form = h(
      "form",
      { class: "card narrow", "data-testid": "login" },
      h("h1", { text: t("login.title") }),
      h("p", { text: t("login.intro") }),
      h("label", { for: "login-email", text: t("login.email") }),
      email,
      h("label", { for: "login-password", text: t("login.password") }),
      password,
      status,
      h("button", { type: "submit", class: "btn btn-primary", text: t("login.submit") }),
      h(
        "p",
        {},
        h("a", {
          href: "#forgot",
          class: "link",
          "data-testid": "forgot-link",
          text: t("login.forgot"),
          onclick: (ev: Event) => {
            ev.preventDefault();
            this.showForgot(email.value);
          },
        }),
      ),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.api.login(email.value, password.value).then(
        () => void this.start(),
        (e: unknown) => {
          const code = e instanceof CircleError ? e.code : "error";
          status.textContent = ["bad_credentials", "unauthenticated", "invalid"].includes(code) ? t("login.failed") : errorText(this.i18n, code);
        },
      );
    });
    this.show(new SimpleScreen(form, t("login.title")), () => this.showLogin());
  }

  private showForgot(prefill: string): void {
    const t = this.i18n.t.bind(this.i18n);
    const email = h("input", { id: "forgot-email", type: "email", name: "email", autocomplete: "username", required: true, maxlength: 254 });
    email.value = prefill;
    const { form, status, submit } = this.accountForm("forgot", t("forgot.title"), t("forgot.intro"), t("forgot.submit"), [
      h("label", { for: "forgot-email", text: t("login.email") }),
      email,
    ]);
    form.append(this.backToLogin());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const address = email.value.trim();
      if (!address || !email.checkValidity()) {
        status.textContent = t("forgot.invalid");
        email.focus();
        return;
      }
      submit.disabled = true;
      this.api.requestPasswordReset(address).then(
        (r) => this.showForgotSent(r.link_ttl_minutes),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          status.textContent = code === "invalid" ? t("forgot.invalid") : errorText(this.i18n, code);
        },
      );
    });
    this.show(new SimpleScreen(form, t("forgot.title")), () => this.showForgot(email.value));
  }

  private showForgotSent(minutes: number): void {
    const t = this.i18n.t.bind(this.i18n);
    this.showSimple(
      t("forgot.title"),
      h("h1", { text: t("forgot.title") }),
      h("p", { role: "status", "data-testid": "forgot-sent", text: t("forgot.sent", { minutes }) }),
      this.backToLogin(),
    );
  }

  /** A form of the sign-in pages: heading, intro, fields, a line for problems, the button. */
  private accountForm(
    testId: string,
    title: string,
    intro: string,
    submitText: string,
    fields: HTMLElement[],
  ): { form: HTMLFormElement; status: HTMLElement; submit: HTMLButtonElement } {
    const status = h("p", { role: "alert", class: "problem-text", "data-testid": `${testId}-status` });
    const submit = h("button", { type: "submit", class: "btn btn-primary", text: submitText });
    // Checked here, so every message is in the page's language (not the browser's).
    const form = h("form", { class: "card narrow", "data-testid": testId, novalidate: true }, h("h1", { text: title }), h("p", { text: intro }), ...fields, status, submit);
    return { form, status, submit };
  }

  private backToLogin(): HTMLElement {
    return h("p", {}, h("button", { type: "button", class: "btn", text: this.i18n.t("forgot.back"), onclick: () => this.showLogin() }));
  }

  /** "Choose a new password" for a reset link (token null: the link cannot be valid). */
  private showReset(token: string | null): void {
    const t = this.i18n.t.bind(this.i18n);
    if (token === null) {
      this.showLinkProblem("reset.invalid");
      return;
    }
    const attrs = { type: "password", autocomplete: "new-password", required: true, minlength: MIN_PASSWORD, maxlength: MAX_PASSWORD, "aria-describedby": "reset-hint" };
    const password = h("input", { ...attrs, id: "reset-new", name: "new-password" });
    const repeat = h("input", { ...attrs, id: "reset-repeat", name: "repeat-password" });
    const { form, status, submit } = this.accountForm("reset", t("reset.title"), t("reset.intro"), t("reset.submit"), [
      h("label", { for: "reset-new", text: t("reset.new") }),
      password,
      h("label", { for: "reset-repeat", text: t("reset.repeat") }),
      repeat,
      h("p", { id: "reset-hint", class: "muted small", text: t("reset.hint", { n: MIN_PASSWORD }) }),
    ]);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const problem = checkNewPassword(password.value, repeat.value);
      if (problem !== null) {
        status.textContent = problem === "mismatch" ? t("reset.mismatch") : t("reset.weak", { n: MIN_PASSWORD });
        (problem === "mismatch" ? repeat : password).focus();
        return;
      }
      submit.disabled = true;
      this.api.confirmPasswordReset(token, password.value).then(
        () => void this.start(),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          const key = linkProblem(code);
          if (code === "weak_password") status.textContent = t("reset.weak", { n: MIN_PASSWORD });
          else if (key !== null) this.showLinkProblem(key);
          else status.textContent = errorText(this.i18n, code);
        },
      );
    });
    this.show(new SimpleScreen(form, t("reset.title")), () => this.showReset(token));
  }

  private showLinkProblem(key: "reset.used" | "reset.expired" | "reset.invalid"): void {
    const t = this.i18n.t.bind(this.i18n);
    this.showSimple(
      t("reset.title"),
      h("h1", { text: t("reset.title") }),
      h("p", { role: "alert", "data-testid": "reset-problem", "data-code": key, text: t(key) }),
      h("p", {}, h("button", { type: "button", class: "btn btn-primary", text: t("reset.again"), onclick: () => this.showForgot("") })),
      this.backToLogin(),
    );
  }

  private async route(): Promise<void> {
    let sessions: SessionSummary[];
    try {
      sessions = await this.api.sessions();
      this.sessions = sessions;
    } catch (e) {
      this.showError(e);
      return;
    }
    const wanted = this.params.get("session");
    const chosen = this.params.get("list") === "1" ? null : pickSession(sessions, Date.now(), wanted);
    if (!chosen) {
      this.showSessions(sessions);
      return;
    }
    this.openSession(chosen);
  }

  private showSessions(sessions: SessionSummary[]): void {
    const t = this.i18n.t.bind(this.i18n);
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
              const open = availability(s, now).kind === "open";
              return h(
                "li",
                {},
                h("button", {
                  type: "button",
                  class: open ? "btn btn-primary" : "btn",
                  text: t("sessions.join", { group: s.group_name }),
                  onclick: () => {
                    this.params.delete("list");
                    this.openSession(s);
                  },
                }),
                h("span", {
                  class: "session-when",
                  text: `${t("sessions.when", { date: this.i18n.date(start), start: this.i18n.time(start), end: this.i18n.time(end) })}${open ? ` · ${t("sessions.open")}` : ""}`,
                }),
              );
            }),
          ),
    );
    const toConfirm = seriesToConfirm(sessions, now);
    this.confirmations.seed(toConfirm);
    const confirm = new ConfirmPanel(this.i18n, this.confirmations, toConfirm);
    el.append(confirm.el);
    this.show(new SimpleScreen(el, t("sessions.title"), () => confirm.destroy()), () => this.showSessions(sessions));
  }

  private openSession(s: SessionSummary): void {
    this.session = s;
    this.params.set("session", s.id);
    this.replaceUrl();
    const av = availability(s, Date.now());
    if (av.kind === "wait") {
      this.showWait(s, av.opensAtMs, av.startsAtMs);
      return;
    }
    if (av.kind === "ended" || av.kind === "cancelled") {
      const t = this.i18n.t.bind(this.i18n);
      this.showSimple(
        s.group_name,
        h("h1", { text: s.group_name }),
        h("p", { text: av.kind === "ended" ? t("wait.ended") : t("wait.cancelled") }),
      );
      return;
    }
    const rejoin = loadRejoin(s.id);
    if (rejoin) {
      void this.rejoinAfterReload(s, rejoin.mode, rejoin.choice);
      return;
    }
    this.showPrejoin(s, { audioId: null, videoId: null });
  }

  private showWait(s: SessionSummary, opensAtMs: number, startsAtMs: number): void {
    const t = this.i18n.t.bind(this.i18n);
    const el = h(
      "section",
      { class: "card", "data-testid": "wait" },
      h("h1", { text: t("wait.title", { group: s.group_name }) }),
      h("p", { class: "big", text: t("wait.starts", { date: this.i18n.date(startsAtMs), time: this.i18n.time(startsAtMs) }) }),
      h("p", { "data-testid": "wait-lobby", text: t("wait.lobby", { time: this.i18n.time(opensAtMs) }) }),
      h("p", { class: "muted small", text: t("wait.timezone", { zone: this.i18n.zoneName(startsAtMs) }) }),
      h("a", { href: "?list=1", class: "link", text: t("wait.back") }),
    );
    const series = seriesToConfirm(this.sessions, Date.now()).filter((x) => String(s.series_id) === x.series_id);
    this.confirmations.seed(series);
    const confirm = new ConfirmPanel(this.i18n, this.confirmations, series);
    el.append(confirm.el);
    // Re-check when the lobby opens (timers are capped so a sleeping laptop catches up).
    const delay = Math.min(Math.max(1000, opensAtMs - Date.now()), 60_000);
    const timer = window.setTimeout(() => void this.route(), delay);
    const cleanup = (): void => {
      window.clearTimeout(timer);
      confirm.destroy();
    };
    this.show(new SimpleScreen(el, s.group_name, cleanup), () => this.showWait(s, opensAtMs, startsAtMs));
  }

  private showPrejoin(s: SessionSummary, choice: DeviceChoice): void {
    const screen = new PrejoinScreen(this.i18n, s, choice, (r) => {
      void this.enterRoom(s, r.mode, r.stream, r.choice);
    });
    this.show(screen, () => this.showPrejoin(s, choice));
  }

  private async rejoinAfterReload(s: SessionSummary, mode: JoinMode, choice: DeviceChoice): Promise<void> {
    // Permission was granted before: no prompt. If the devices are gone, fall back to the check.
    let stream: MediaStream | null = null;
    if (mode !== "listen") {
      try {
        stream = (await acquireMedia({ audio: true, video: mode === "full" }, choice)).stream;
      } catch {
        clearRejoin();
        this.showPrejoin(s, choice);
        return;
      }
    }
    await this.enterRoom(s, mode, stream, choice);
  }

  private async enterRoom(s: SessionSummary, mode: JoinMode, stream: MediaStream | null, choice: DeviceChoice): Promise<void> {
    const client = new RoomClient({
      socketFactory: (auth) =>
        io("/room", {
          autoConnect: false,
          auth: (cb) => auth(cb as (d: { token: string }) => void),
          // Lets a proxy route every connection of one session to the same server process
          // (docs/deployment.md); the server trusts only the signed token's session.
          query: { session: String(s.id) },
          reconnectionDelay: 500,
          reconnectionDelayMax: 4000,
        }) as unknown as SocketLike,
      tokenProvider: async () => (await this.api.joinToken(s.id)).token,
      log: (m) => console.debug(`[circle] ${m}`),
    });
    const media = new MediaSession(
      (cfg) =>
        new RTCPeerConnection({
          iceServers: cfg.iceServers,
          iceTransportPolicy: cfg.iceTransportPolicy,
          bundlePolicy: "max-bundle",
        }) as unknown as PeerLike,
      client,
      () => client.selfId,
      [],
      (m) => console.debug(`[circle] ${m}`),
    );
    await media.setLocalTracks({
      audio: stream?.getAudioTracks()[0] ?? null,
      video: stream?.getVideoTracks()[0] ?? null,
    });
    client.events.on("hello", (hello) => {
      if (hello.ice_servers) media.setIceServers(hello.ice_servers);
    });
    client.events.on("offer", (offer) => void media.handleOffer(offer));
    client.events.on("candidate", (c) => void media.handleCandidate(c));
    // After a rejoin the server either keeps our media (nothing to do) or offers a new peer
    // connection, which MediaSession recognises by its new ICE/DTLS identity.
    client.events.on("state", (e) => this.onRoomState(e.to, e.error));
    this.room = { client, media, stream, mode, choice };
    saveRejoin(s.id, mode, choice);
    this.showRoom();
    await client.start();
  }

  private showRoom(): void {
    const room = this.room;
    const s = this.session;
    if (!room || !s) return;
    const screen = new RoomScreen({
      i18n: this.i18n,
      client: room.client,
      media: room.media,
      local: { stream: room.stream, mode: room.mode },
      session: s,
      feedback: this.feedback,
      onLeave: () => undefined,
      onLocalMedia: (local) => {
        // A device turned on in the room: stop it on leaving, and keep it on a reload.
        room.stream = local.stream;
        room.mode = local.mode;
        saveRejoin(s.id, local.mode, room.choice);
      },
    });
    this.show(screen, () => this.showRoom());
  }

  private onRoomState(to: string, error: CircleError | null): void {
    if (to === "agreement") {
      this.showAgreement();
      return;
    }
    if (to === "joining" && this.screen && !(this.screen instanceof RoomScreen)) {
      this.showRoom();
      return;
    }
    if (to === "ended" || to === "left" || to === "failed") {
      this.closeRoom();
      clearRejoin();
      const t = this.i18n.t.bind(this.i18n);
      if (to === "failed") {
        this.showError(error ?? new CircleError("error", ""), () => void this.route());
      } else if (to === "ended") {
        this.showSimple(t("end.title"), h("h1", { text: t("end.title") }), h("p", { text: t("end.body") }));
      } else {
        const s = this.session;
        this.showSimple(
          t("left.title"),
          h("h1", { text: t("left.title") }),
          h("p", { text: t("left.body") }),
          h("button", {
            type: "button",
            class: "btn btn-primary",
            text: t("left.rejoin"),
            onclick: () => (s ? this.openSession(s) : void this.route()),
          }),
        );
      }
    }
  }

  private showAgreement(): void {
    const room = this.room;
    const ag = room?.client.agreement;
    if (!room || !ag) return;
    const t = this.i18n.t.bind(this.i18n);
    const el = h(
      "section",
      { class: "card", "data-testid": "agreement" },
      h("h1", { text: t("agreement.title") }),
      h("div", { class: "agreement-text" }, ...ag.text.split(/\n{2,}/).map((para) => h("p", { text: para }))),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "btn btn-primary",
          text: t("agreement.accept"),
          onclick: () => {
            room.client.acceptAgreement().catch((e: unknown) => this.showError(e, () => void this.route()));
          },
        }),
        h("button", { type: "button", class: "btn", text: t("agreement.decline"), onclick: () => void room.client.leave() }),
      ),
    );
    this.show(new SimpleScreen(el, t("agreement.title")), () => this.showAgreement());
  }

  private closeRoom(): void {
    const room = this.room;
    if (!room) return;
    room.media.close();
    stopStream(room.stream);
    this.room = null;
  }
}
