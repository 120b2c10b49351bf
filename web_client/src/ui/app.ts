// The app shell: the language, the screen shown, and the way through the app: sign-in and
// password reset (account.ts), picking the session and the lobby wait (sessions.ts), the
// pre-join check, the room, and the pages after it. Owns the REST client and, while in a room,
// the RoomClient and MediaSession.

import { io } from "socket.io-client";
import { I18n, LOCALES, LOCALE_NAMES, chooseLocale, isLocale, validTimeZone } from "../i18n";
import { parseAuthFragment } from "../protocol/account";
import { Api, csrfCookie } from "../protocol/api";
import { MediaSession, type PeerLike } from "../protocol/media";
import { RoomClient, type SocketLike } from "../protocol/room-client";
import { RETRY_POLICY } from "../protocol/retry-policy";
import { SeriesConfirmations } from "../protocol/confirm";
import { availability, pickSession } from "../protocol/schedule";
import type { Me, SessionSummary } from "../protocol/types";
import { CircleError } from "../protocol/types";
import { type DeviceChoice, type JoinMode, acquireMedia, stopStream } from "./devices";
import { AccountScreens } from "./account";
import { agreementBody } from "./agreement";
import { h } from "./dom";
import { icon } from "./icons";
import { Feedback, errorText } from "./feedback";
import { PrejoinScreen } from "./prejoin";
import { RoomScreen } from "./room";
import { type Screen, SimpleScreen } from "./screen";
import { attendanceApi } from "../attendance/api";
import { sessionListScreen, waitScreen } from "./sessions";
import { clearRejoin, loadRejoin, saveRejoin } from "./storage";
import { COORDINATOR_PAGE, coordinatorLink, isStaff } from "../coordinator/links";

export class App {
  private readonly api = new Api(
    (url, init) => fetch(url, init),
    () => csrfCookie(document.cookie),
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
    /** The agreement version agreed to on the pre-join page (accepted for the person on hello). */
    agreedVersion: string | null;
  } | null = null;
  private rerender: () => void = () => undefined;
  private readonly account: AccountScreens;

  constructor(private readonly root: HTMLElement) {
    this.i18n = this.makeI18n(null, null);
    this.header = h("header", { class: "topbar" });
    this.main = h("main", { id: "main", tabindex: "-1" });
    root.replaceChildren(this.header, this.main);
    this.feedback = new Feedback(root);
    const shell = this;
    this.account = new AccountScreens({
      get i18n() {
        return shell.i18n;
      },
      api: this.api,
      show: (screen, rerender) => this.show(screen, rerender),
      showSimple: (title, ...content) => this.showSimple(title, ...content),
      signedIn: () => void this.start(true),
    });
    this.applyLocale();
    window.addEventListener("pagehide", () => this.room?.media.close());
    // A reset link opened in a tab that already shows the app changes only the fragment.
    window.addEventListener("hashchange", () => {
      if (parseAuthFragment(window.location.hash) === null) return;
      this.closeRoom();
      void this.start();
    });
  }

  /** ``signedIn``: just signed in (a one-click link or the form); staff go to their pages. */
  async start(signedIn = false): Promise<void> {
    const fragment = parseAuthFragment(window.location.hash);
    if (fragment !== null) {
      // A link's token must not stay in the address bar, the history or a bookmark.
      this.replaceUrl();
      if (fragment.kind === "reset") this.account.showReset(fragment.token);
      else if (fragment.kind === "signin") this.account.showSignin(fragment.token);
      else if (fragment.kind === "confirm") this.account.showConfirmLink(fragment.token);
      else this.account.showForgot("");
      return;
    }
    this.showSimple(this.i18n.t("app.loading"), h("p", { class: "loading", text: this.i18n.t("app.loading") }));
    try {
      this.me = await this.api.me();
    } catch (e) {
      if (e instanceof CircleError && (e.status === 401 || e.code === "unauthenticated")) {
        this.account.showLogin();
        return;
      }
      this.showError(e);
      return;
    }
    if (signedIn && isStaff(this.me.roles) && !this.params.get("session")) {
      window.location.assign(COORDINATOR_PAGE);
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
      coordinatorLink(this.i18n, this.me?.roles) ?? "",
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

  private showSessions(sessions: SessionSummary[], excused?: ReadonlySet<string>): void {
    const screen = sessionListScreen(this.i18n, this.confirmations, sessions, (s) => {
      this.params.delete("list");
      this.openSession(s);
    }, excused);
    this.show(screen, () => this.showSessions(sessions, excused));
    if (excused === undefined) {
      // The sessions I said I cannot come to (their buttons read "I can come after all").
      attendanceApi.myExcuses().then(
        (list) => {
          if (list.length && this.screen === screen) {
            this.showSessions(sessions, new Set(list.map((x) => String(x.session_id))));
          }
        },
        () => undefined,
      );
    }
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
    const screen = waitScreen(this.i18n, this.confirmations, this.sessions, s, opensAtMs, startsAtMs, () => void this.route());
    this.show(screen, () => this.showWait(s, opensAtMs, startsAtMs));
  }

  private showPrejoin(s: SessionSummary, choice: DeviceChoice): void {
    const screen = new PrejoinScreen(this.i18n, s, choice, (r) => {
      void this.enterRoom(s, r.mode, r.stream, r.choice, r.agreedVersion);
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

  private async enterRoom(
    s: SessionSummary,
    mode: JoinMode,
    stream: MediaStream | null,
    choice: DeviceChoice,
    agreedVersion: string | null = null,
  ): Promise<void> {
    const client = new RoomClient({
      socketFactory: (auth) =>
        io("/room", {
          autoConnect: false,
          auth: (cb) => auth(cb as (d: { token: string }) => void),
          // Lets a proxy route every connection of one session to the same server process
          // (docs/deployment.md); the server trusts only the signed token's session.
          query: { session: String(s.id) },
          // The server accepts websockets only (server/signaling/edge.py).
          transports: ["websocket"],
          // A dropped connection (its server died or drained) is retried on the same schedule
          // as a transient refusal: soon, and often enough to be back within a takeover.
          reconnectionDelay: RETRY_POLICY.first_ms,
          reconnectionDelayMax: RETRY_POLICY.fast_cap_ms,
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
    this.room = { client, media, stream, mode, choice, agreedVersion };
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
      choice: room.choice,
      onChoice: (choice) => {
        room.choice = choice;
        saveRejoin(s.id, room.mode, choice);
      },
      setSkip: (link) => this.setSkip(link),
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
      const room = this.room;
      const ag = room?.client.agreement;
      if (room && ag && room.agreedVersion !== null && room.agreedVersion === ag.version) {
        // Agreed on the pre-join page, to this very version: no second screen.
        room.client.acceptAgreement().catch((e: unknown) => this.showError(e, () => void this.route()));
        return;
      }
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
      agreementBody(this.i18n, this.session?.agreement?.version === ag.version ? this.session : null, ag.text),
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

  /** A second skip link (the room's, to the leader console) right after "Skip to content". */
  private setSkip(link: HTMLElement | null): void {
    this.header.querySelector(".skip-extra")?.remove();
    if (!link) return;
    link.classList.add("skip-extra");
    this.header.querySelector(".skip")?.after(link);
  }

  private closeRoom(): void {
    const room = this.room;
    if (!room) return;
    room.media.close();
    stopStream(room.stream);
    this.room = null;
  }
}
