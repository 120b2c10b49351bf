// The room: phase banner with countdown, gallery of everyone, own controls, and for leaders
// the console. The view reads state from the RoomClient and MediaSession and never decides
// anything the server decides (phase, who may speak).

import type { I18n } from "../i18n";
import type { MediaSession } from "../protocol/media";
import type { RoomClient, RoomState } from "../protocol/room-client";
import { type Layout, defaultLayout, handOffer, layoutFor } from "../protocol/room-view";
import type { Participant, SessionSummary, Snapshot } from "../protocol/types";
import { type MicControl, camControl, micControl, micHeldByRoom, self, showsConsole } from "../protocol/view";
import { BreakoutPanel } from "./breakouts";
import { LeaderConsole } from "./console";
import type { DeviceChoice, JoinMode } from "./devices";
import { h, setAttr, setText, show } from "./dom";
import { type Feedback, errorText } from "./feedback";
import { leadNotice } from "../i18n/parts/formats";
import { Gallery } from "./gallery";
import { ViewReport } from "./view-report";
import { MediaStatus } from "./media-status";
import { icon, setIconLabel } from "./icons";
import { PhaseBanner, askText, heldText, phaseName } from "./phase-banner";
import { RoomActions } from "./room-actions";
import { DevicePanel } from "./room-devices";
import { RoomKeys } from "./room-keys";
import { RoomStatus } from "./room-status";
import type { Screen } from "./screen";

export interface LocalMedia {
  stream: MediaStream | null;
  mode: JoinMode;
}

export interface RoomContext {
  i18n: I18n;
  client: RoomClient;
  media: MediaSession;
  local: LocalMedia;
  session: SessionSummary;
  feedback: Feedback;
  onLeave: () => void;
  /** A device was turned on in the room: the app keeps the stream (to stop it) and the mode. */
  onLocalMedia?: (local: LocalMedia) => void;
  /** The devices chosen (pre-join or in the room), kept for a reload. */
  choice?: DeviceChoice;
  onChoice?: (choice: DeviceChoice) => void;
  /** Put a second skip link (to the leader console) beside the page's first; null removes it. */
  setSkip?: (link: HTMLElement | null) => void;
}

export class RoomScreen implements Screen {
  readonly el: HTMLElement;
  readonly title: string;
  private readonly i18n: I18n;
  private readonly connBanner: HTMLElement;
  private readonly mediaStatus: MediaStatus;
  private readonly banner: PhaseBanner;
  private readonly gallery: Gallery;
  private readonly view: ViewReport;
  private readonly heldNote: HTMLElement;
  private readonly heldTextEl: HTMLElement;
  private readonly listenNote: HTMLElement;
  private destroyed = false;
  private readonly micBtn: HTMLButtonElement;
  private readonly camBtn: HTMLButtonElement;
  private readonly handBtn: HTMLButtonElement;
  private readonly soundBtn: HTMLButtonElement;
  private readonly body: HTMLElement;
  private readonly footer: HTMLElement;
  private readonly status: RoomStatus;
  private readonly layoutBtn: HTMLButtonElement;
  private readonly devicesBtn: HTMLButtonElement;
  private readonly consoleBtn: HTMLButtonElement;
  private readonly devices: DevicePanel;
  private readonly keys: RoomKeys;
  private readonly actions: RoomActions;
  private console: LeaderConsole | null = null;
  private readonly breakouts: BreakoutPanel; // ui/breakouts.ts
  /** The layout the person chose with the button (null: follow the screen and the phase). */
  private chosenLayout: Layout | null = null;
  private lastPhase: string | null = null;
  private lastStandIn: string | null | undefined = undefined;
  private lastHeld = false;
  private wasReconnecting = false;
  private initialSync = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly timer: number;
  private readonly resize: ResizeObserver | null;

  constructor(private readonly ctx: RoomContext) {
    const i18n = ctx.i18n;
    this.i18n = i18n;
    const t = i18n.t.bind(i18n);
    this.title = t("room.title", { group: ctx.session.group_name });

    this.connBanner = h("div", { class: "conn-banner", role: "status", hidden: true, "data-testid": "conn-banner" });
    this.mediaStatus = new MediaStatus(i18n, ctx.media, ctx.feedback);
    this.banner = new PhaseBanner(i18n);
    this.actions = new RoomActions(ctx, {
      rerender: () => this.rerender(),
      destroyed: () => this.destroyed,
      focusNote: (which) => (which === "held" ? this.heldNote : this.listenNote).focus(),
    });
    this.status = new RoomStatus(i18n, ctx.feedback, Date.parse(ctx.session.starts_at));
    this.gallery = new Gallery(i18n, ctx.media, () => this.ctx.local.stream, () => this.footer);
    this.gallery.onAutoplayBlocked(() => show(this.soundBtn, true));
    this.view = new ViewReport(this.gallery, ctx.client, ctx.media);
    this.devices = new DevicePanel({
      i18n,
      feedback: ctx.feedback,
      media: ctx.media,
      stream: () => this.ctx.local.stream,
      choice: ctx.choice ?? { audioId: null, videoId: null },
      onChoice: (c) => this.ctx.onChoice?.(c),
      setSpeaker: (id) => this.gallery.setSpeaker(id),
      changed: () => {
        // My own tile shows the new camera.
        const s = this.ctx.client.snapshot;
        if (s) this.gallery.render(s);
      },
    });
    this.keys = new RoomKeys({
      i18n,
      mic: () => this.micState(),
      toggleMute: () => this.onMic(),
      talk: (open) => this.talk(open),
      announce: (text) => this.ctx.feedback.announce(text),
    });

    this.heldTextEl = h("span");
    this.heldNote = h(
      "p",
      {
        class: "held-note with-icon",
        role: "note",
        hidden: true,
        tabindex: "-1",
        "data-testid": "held-note",
        id: "held-note",
      },
      icon("info"),
      this.heldTextEl,
    );
    this.listenNote = h(
      "p",
      { class: "held-note with-icon", role: "note", hidden: true, tabindex: "-1", "data-testid": "listen-note", id: "listen-note" },
      icon("info"),
      t("held.listenonly"),
    );
    this.micBtn = h("button", {
      type: "button",
      class: "ctl",
      "data-testid": "mic",
      "aria-keyshortcuts": "M",
      onclick: () => void this.onMic(),
    });
    this.camBtn = h("button", { type: "button", class: "ctl", "data-testid": "cam", onclick: () => void this.onCam() });
    this.handBtn = h("button", { type: "button", class: "ctl", "data-testid": "hand", onclick: () => void this.onHand() });
    this.soundBtn = h("button", {
      type: "button",
      class: "ctl ctl-attention",
      hidden: true,
      onclick: () => this.enableSound(),
    });
    setIconLabel(this.soundBtn, "speaker", t("room.sound.enable"));
    const leaveBtn = h("button", {
      type: "button",
      class: "ctl ctl-leave",
      "data-testid": "leave",
      onclick: () => void this.leave(),
    });
    setIconLabel(leaveBtn, "leave", t("room.leave"));
    this.layoutBtn = h("button", {
      type: "button",
      class: "ctl",
      "data-testid": "layout",
      onclick: () => this.toggleLayout(),
    });
    setIconLabel(this.layoutBtn, "spotlight", t("room.layout.focus"));
    this.devicesBtn = h("button", {
      type: "button",
      class: "ctl",
      "data-testid": "devices-open",
      "aria-haspopup": "dialog",
      onclick: () => void this.devices.open(),
    });
    setIconLabel(this.devicesBtn, "settings", t("room.devices"));
    // Phones: the console is a sheet over the room, one tap away in the pinned controls.
    this.consoleBtn = h("button", {
      type: "button",
      class: "ctl ctl-console",
      hidden: true,
      "data-testid": "console-open",
      "aria-controls": "leader-console",
      "aria-expanded": "false",
      onclick: () => this.toggleConsole(),
    });
    setIconLabel(this.consoleBtn, "console", t("room.console.open"));
    const controls = h(
      "nav",
      { class: "controls", "aria-label": t("room.controls") },
      this.micBtn,
      this.camBtn,
      this.handBtn,
      this.consoleBtn,
      this.devicesBtn,
      this.layoutBtn,
      this.soundBtn,
      leaveBtn,
    );
    this.breakouts = new BreakoutPanel(i18n, ctx.client, ctx.feedback);
    const hint = h("p", { class: "shortcut-hint small", id: "shortcut-hint", "data-testid": "shortcut-hint", text: t("room.shortcuts") });
    this.micBtn.setAttribute("aria-describedby", "shortcut-hint");
    this.body = h("div", { class: "room-body" }, this.gallery.el);
    this.footer = h("div", { class: "room-footer" }, this.heldNote, this.listenNote, controls, hint);
    this.gallery.setLayout(defaultLayout(window.innerWidth));
    this.layoutBtn.setAttribute("aria-pressed", String(this.gallery.layoutMode === "focus"));
    this.el = h(
      "div",
      { class: "room", "data-testid": "room" },
      this.connBanner,
      this.mediaStatus.el,
      this.banner.el,
      this.breakouts.el,
      this.status.el,
      this.body,
      this.footer,
    );

    const { client, media } = ctx;
    this.unsubscribe.push(
      client.events.on("snapshot", (s) => this.render(s)),
      client.events.on("state", (e) => this.onState(e.to, e.from)),
      client.events.on("speaker", (id) => {
        this.gallery.speakerId = id;
        if (client.snapshot) this.gallery.render(client.snapshot);
      }),
      client.events.on("refused", (r) => this.onRefused(r.event, r.error.code, r.error.message)),
      media.events.on("remote", () => {
        if (client.snapshot) this.gallery.render(client.snapshot);
      }),
    );
    this.timer = window.setInterval(() => this.tick(), 250);
    this.resize = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => this.layout()) : null;
    this.resize?.observe(this.gallery.el);
    this.resize?.observe(this.footer);
    this.onState(client.state, client.state);
    if (client.snapshot) this.render(client.snapshot);
  }

  destroy(): void {
    this.destroyed = true;
    for (const off of this.unsubscribe) off();
    this.mediaStatus.destroy();
    window.clearInterval(this.timer);
    this.resize?.disconnect();
    this.view.destroy();
    this.gallery.destroy();
    this.keys.destroy();
    this.devices.destroy();
    this.ctx.setSkip?.(null);
  }

  // ---- state ----

  private onState(to: RoomState, from: RoomState): void {
    const t = this.i18n.t.bind(this.i18n);
    const reconnecting = to === "reconnecting" || to === "connecting" || to === "joining";
    show(this.connBanner, reconnecting && from !== "idle");
    setText(this.connBanner, to === "connecting" ? t("room.connecting") : t("room.reconnecting"));
    this.el.classList.toggle("is-reconnecting", reconnecting);
    this.el.dataset["state"] = to;
    if (to === "reconnecting") this.wasReconnecting = true;
    if (to === "joined" && this.wasReconnecting) {
      this.wasReconnecting = false;
      this.ctx.feedback.toast(t("room.reconnected"));
    }
  }

  private render(s: Snapshot): void {
    const me = self(s);
    this.syncInitialMode(s);
    const held = micHeldByRoom(s);
    if (me) {
      this.ctx.media.setMuteState({
        selfMuted: me.self_muted || this.actions.muting,
        ruleMuted: held,
        cameraOff: me.camera_off,
      });
    }
    this.banner.update(s, me);
    const said = this.status.update(s, Date.now());
    this.el.dataset["phase"] = s.phase;
    this.applyLayout(s);
    this.renderControls(s, me, held);
    this.gallery.render(s);
    this.renderConsole(s);
    this.breakouts.render(s);
    this.tick();
    this.layout();
    if (this.lastPhase !== null && this.lastPhase !== s.phase) {
      this.ctx.feedback.announce(
        this.i18n.t("room.phase.changed", { phase: phaseName(this.i18n, s.phase), ask: askText(this.i18n, s, me) }),
      );
    }
    // (Taking the floor back already said that the microphone is off again.)
    if (held && !this.lastHeld && this.lastPhase !== null && !said) this.ctx.feedback.announce(heldText(this.i18n, s, me));
    this.lastHeld = held;
    this.lastPhase = s.phase;
    const standIn = s.stand_in ?? null; // leader continuity (issue 15): who leads meanwhile
    if (this.lastStandIn !== undefined && this.lastStandIn !== standIn) this.ctx.feedback.toast(leadNotice(this.i18n, s));
    this.lastStandIn = standIn;
  }

  /** After joining with audio only or to listen only, tell the server once. */
  private syncInitialMode(s: Snapshot): void {
    // A broadcast snapshot can arrive before our join is acknowledged; the server takes
    // commands only from a joined participant.
    if (this.initialSync || this.ctx.client.state !== "joined") return;
    this.initialSync = true;
    const me = self(s);
    if (!me) return;
    const hasVideo = (this.ctx.local.stream?.getVideoTracks().length ?? 0) > 0;
    const hasAudio = (this.ctx.local.stream?.getAudioTracks().length ?? 0) > 0;
    if (!hasVideo && !me.camera_off) void this.ctx.client.setCamera(true).catch(() => undefined);
    if (!hasAudio && !me.self_muted) void this.ctx.client.setMic(true).catch(() => undefined);
  }

  private tick(): void {
    const s = this.ctx.client.snapshot;
    if (s) this.banner.tick(s, this.ctx.client.clock.now(Date.now()));
    if (s) this.breakouts.tick(this.ctx.client.clock.now(Date.now()));
  }

  private layout(): void {
    this.gallery.layout();
  }

  private renderControls(s: Snapshot, me: Participant | null, held: boolean): void {
    const t = this.i18n.t.bind(this.i18n);
    const hasAudio = (this.ctx.local.stream?.getAudioTracks().length ?? 0) > 0;
    const hasVideo = (this.ctx.local.stream?.getVideoTracks().length ?? 0) > 0;
    const selfMuted = me?.self_muted ?? true;

    // Microphone: when the room holds it, a calm explanation replaces the toggle; without a
    // microphone (listen-only) the button turns one on, unless the room holds microphones.
    const mic = micControl({ hasTrack: hasAudio, heldByRoom: held, selfMuted });
    if (mic === "held-listening") setIconLabel(this.micBtn, "headphones", t("room.listenonly"));
    else if (mic === "turn-on") setIconLabel(this.micBtn, "mic", t("room.mic.turnon"));
    else if (mic === "held") setIconLabel(this.micBtn, "micOff", t("room.mic.held"));
    else if (mic === "muted") setIconLabel(this.micBtn, "micOff", t("room.mic.unmute"));
    else setIconLabel(this.micBtn, "mic", t("room.mic.mute"));
    this.micBtn.disabled = mic === "held-listening" || this.actions.acquiring.has("audio");
    setAttr(this.micBtn, "aria-disabled", mic === "held" ? "true" : null);
    setAttr(
      this.micBtn,
      "aria-describedby",
      mic === "held" ? "held-note" : mic === "held-listening" ? "listen-note" : "shortcut-hint",
    );
    setAttr(this.micBtn, "aria-pressed", mic === "muted" || mic === "live" ? String(selfMuted) : null);
    this.micBtn.classList.toggle("held", mic === "held");
    this.micBtn.dataset["state"] = mic === "held-listening" ? "none" : mic;
    show(this.heldNote, mic === "held");
    show(this.listenNote, mic === "held-listening");
    if (held) setText(this.heldTextEl, heldText(this.i18n, s, me));

    const camOff = me?.camera_off ?? true;
    const cam = camControl({ hasTrack: hasVideo, cameraOff: camOff });
    if (cam === "turn-on") setIconLabel(this.camBtn, "camera", t("room.cam.turnon"));
    else if (cam === "off") setIconLabel(this.camBtn, "cameraOff", t("room.cam.on"));
    else setIconLabel(this.camBtn, "camera", t("room.cam.off"));
    this.camBtn.disabled = this.actions.acquiring.has("video");
    setAttr(this.camBtn, "aria-pressed", cam === "turn-on" ? null : String(camOff));
    this.camBtn.dataset["state"] = cam;

    const raised = me?.hand_raised ?? false;
    // The accepted presenter is not offered "Raise hand to present".
    const offer = handOffer(s);
    show(this.handBtn, offer !== "hidden");
    setIconLabel(
      this.handBtn,
      "hand",
      raised ? t("room.hand.lower") : offer === "present" ? t("room.hand.present") : t("room.hand.raise"),
    );
    setAttr(this.handBtn, "aria-pressed", String(raised));
    this.handBtn.dataset["state"] = raised ? "raised" : "lowered";
  }

  private renderConsole(s: Snapshot): void {
    if (!showsConsole(s)) {
      if (this.console) {
        this.console.el.remove();
        this.console = null;
      }
      return;
    }
    if (!this.console) {
      this.console = new LeaderConsole(this.i18n, this.ctx.client, this.ctx.feedback);
      const back = h("button", {
        type: "button",
        class: "btn console-close",
        "data-testid": "console-close",
        text: this.i18n.t("room.console.close"),
        onclick: () => this.toggleConsole(false),
      });
      this.console.el.prepend(back);
      // A column of the room beside banner, gallery and controls (room.css), so it has the
      // room's whole height; on phones a sheet opened from the controls.
      this.el.append(this.console.el);
      this.el.classList.add("with-console");
      show(this.consoleBtn, true);
      const skip = h("a", {
        class: "skip",
        href: "#leader-console",
        "data-testid": "skip-console",
        text: this.i18n.t("room.skip.console"),
        onclick: (ev: Event) => {
          ev.preventDefault();
          this.toggleConsole(true);
        },
      });
      this.ctx.setSkip?.(skip);
    }
    this.console.update(s);
  }

  // ---- layout, console, devices, keys ----

  private toggleLayout(): void {
    this.chosenLayout = this.gallery.layoutMode === "focus" ? "grid" : "focus";
    const s = this.ctx.client.snapshot;
    if (s) this.applyLayout(s);
    else this.gallery.setLayout(this.chosenLayout);
    this.layoutBtn.setAttribute("aria-pressed", String(this.gallery.layoutMode === "focus"));
  }

  private applyLayout(s: Snapshot): void {
    this.gallery.setLayout(layoutFor(window.innerWidth, s, this.chosenLayout));
    this.layoutBtn.setAttribute("aria-pressed", String(this.gallery.layoutMode === "focus"));
  }

  /** Open or close the console (a sheet on phones; on wider screens it is always there). */
  private toggleConsole(open = !this.el.classList.contains("console-open")): void {
    const el = this.console?.el;
    if (!el) return;
    this.el.classList.toggle("console-open", open);
    this.consoleBtn.setAttribute("aria-expanded", String(open));
    if (open) el.focus();
    else this.consoleBtn.focus();
  }

  private micState(): MicControl | null {
    return this.actions.micState();
  }

  private talk(open: boolean): Promise<void> {
    return this.actions.talk(open);
  }

  private onMic(): Promise<void> {
    return this.actions.onMic();
  }

  private onCam(): Promise<void> {
    return this.actions.onCam();
  }

  private rerender(): void {
    const s = this.ctx.client.snapshot;
    if (s && !this.destroyed) this.render(s);
  }

  private async onHand(): Promise<void> {
    const s = this.ctx.client.snapshot;
    const me = s ? self(s) : null;
    if (!me) return;
    await (me.hand_raised ? this.ctx.client.lowerHand() : this.ctx.client.raiseHand()).catch(() => undefined);
  }

  private enableSound(): void {
    this.gallery.playAll();
    show(this.soundBtn, false);
  }

  private async leave(): Promise<void> {
    await this.ctx.client.leave();
    this.ctx.onLeave();
  }

  private onRefused(event: string, code: string, message: string): void {
    if (event === "mic.set" && code === "protocol") return; // the held note explains it calmly
    if (event === "protocol.command") return; // the console reports its own
    this.ctx.feedback.toast(errorText(this.i18n, code, message), "error");
  }
}
