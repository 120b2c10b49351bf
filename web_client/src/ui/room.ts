// The room: phase banner with countdown, gallery of everyone, own controls, and for leaders
// the console. The view reads state from the RoomClient and MediaSession and never decides
// anything the server decides (phase, who may speak).

import type { I18n } from "../i18n";
import type { MediaSession, TrackLike } from "../protocol/media";
import type { RoomClient, RoomState } from "../protocol/room-client";
import type { Participant, SessionSummary, Snapshot } from "../protocol/types";
import { camControl, micControl, micHeldByRoom, self, showsConsole } from "../protocol/view";
import { LeaderConsole } from "./console";
import { type JoinMode, acquireMedia, classifyMediaError } from "./devices";
import { h, setAttr, setText, show } from "./dom";
import { type Feedback, errorText } from "./feedback";
import { Gallery } from "./gallery";
import { MediaStatus } from "./media-status";
import { icon, setIconLabel } from "./icons";
import { PhaseBanner, askText, heldText, phaseName } from "./phase-banner";
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
}

/** The join mode that matches the tracks now held (a camera without a microphone stays "listen"). */
function modeOf(stream: MediaStream | null): JoinMode {
  const audio = (stream?.getAudioTracks().length ?? 0) > 0;
  const video = (stream?.getVideoTracks().length ?? 0) > 0;
  return audio && video ? "full" : audio ? "audio" : "listen";
}

export class RoomScreen implements Screen {
  readonly el: HTMLElement;
  readonly title: string;
  private readonly i18n: I18n;
  private readonly connBanner: HTMLElement;
  private readonly mediaStatus: MediaStatus;
  private readonly banner: PhaseBanner;
  private readonly gallery: Gallery;
  private readonly heldNote: HTMLElement;
  private readonly heldTextEl: HTMLElement;
  private readonly listenNote: HTMLElement;
  private readonly acquiring = new Set<"audio" | "video">();
  private destroyed = false;
  private readonly micBtn: HTMLButtonElement;
  private readonly camBtn: HTMLButtonElement;
  private readonly handBtn: HTMLButtonElement;
  private readonly soundBtn: HTMLButtonElement;
  private readonly body: HTMLElement;
  private readonly footer: HTMLElement;
  private console: LeaderConsole | null = null;
  private lastPhase: string | null = null;
  private lastHeld = false;
  private muting = false;
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
    this.gallery = new Gallery(i18n, ctx.media, () => this.ctx.local.stream, () => this.footer);
    this.gallery.onAutoplayBlocked(() => show(this.soundBtn, true));

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
    this.micBtn = h("button", { type: "button", class: "ctl", "data-testid": "mic", onclick: () => void this.onMic() });
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
    const controls = h(
      "nav",
      { class: "controls", "aria-label": t("room.controls") },
      this.micBtn,
      this.camBtn,
      this.handBtn,
      this.soundBtn,
      leaveBtn,
    );
    this.body = h("div", { class: "room-body" }, this.gallery.el);
    this.footer = h("div", { class: "room-footer" }, this.heldNote, this.listenNote, controls);
    this.el = h(
      "div",
      { class: "room", "data-testid": "room" },
      this.connBanner,
      this.mediaStatus.el,
      this.banner.el,
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
    this.gallery.destroy();
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
        selfMuted: me.self_muted || this.muting,
        ruleMuted: held,
        cameraOff: me.camera_off,
      });
    }
    this.banner.update(s, me);
    this.el.dataset["phase"] = s.phase;
    this.renderControls(s, me, held);
    this.gallery.render(s);
    this.renderConsole(s);
    this.tick();
    this.layout();
    if (this.lastPhase !== null && this.lastPhase !== s.phase) {
      this.ctx.feedback.announce(
        this.i18n.t("room.phase.changed", { phase: phaseName(this.i18n, s.phase), ask: askText(this.i18n, s, me) }),
      );
    }
    if (held && !this.lastHeld && this.lastPhase !== null) this.ctx.feedback.announce(heldText(this.i18n, s, me));
    this.lastHeld = held;
    this.lastPhase = s.phase;
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
    this.micBtn.disabled = mic === "held-listening" || this.acquiring.has("audio");
    setAttr(this.micBtn, "aria-disabled", mic === "held" ? "true" : null);
    setAttr(
      this.micBtn,
      "aria-describedby",
      mic === "held" ? "held-note" : mic === "held-listening" ? "listen-note" : null,
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
    this.camBtn.disabled = this.acquiring.has("video");
    setAttr(this.camBtn, "aria-pressed", cam === "turn-on" ? null : String(camOff));
    this.camBtn.dataset["state"] = cam;

    const raised = me?.hand_raised ?? false;
    const mayRaise = s.you.capabilities.includes("raise_hand") || raised;
    show(this.handBtn, mayRaise);
    setIconLabel(this.handBtn, "hand", raised ? t("room.hand.lower") : t("room.hand.raise"));
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
      this.body.append(this.console.el);
      this.el.classList.add("with-console");
    }
    this.console.update(s);
  }

  // ---- actions ----

  private async onMic(): Promise<void> {
    const s = this.ctx.client.snapshot;
    if (!s) return;
    const me = self(s);
    if (!me) return;
    if (!this.hasLocal("audio")) {
      // Listening only: turn a microphone on, unless the room holds microphones right now.
      if (micHeldByRoom(s)) this.listenNote.focus();
      else await this.turnOn("audio");
      return;
    }
    if (micHeldByRoom(s)) {
      // Ask anyway: the server decides. While its rule holds, it refuses and nothing changes.
      this.heldNote.focus();
      await this.ctx.client.setMic(false).catch(() => undefined);
      return;
    }
    if (!me.self_muted) {
      // Muting takes effect locally at once; the server confirms.
      this.muting = true;
      this.ctx.media.setMuteState({ selfMuted: true, ruleMuted: false, cameraOff: me.camera_off });
      try {
        await this.ctx.client.setMic(true);
      } catch {
        // refusal already reported
      } finally {
        this.muting = false;
      }
    } else {
      await this.ctx.client.setMic(false).catch(() => undefined);
    }
  }

  private async onCam(): Promise<void> {
    const s = this.ctx.client.snapshot;
    const me = s ? self(s) : null;
    if (!me) return;
    if (!this.hasLocal("video")) {
      await this.turnOn("video");
      return;
    }
    const off = !me.camera_off;
    if (off) this.ctx.media.setMuteState({ selfMuted: me.self_muted, ruleMuted: me.muted_by_rule, cameraOff: true });
    await this.ctx.client.setCamera(off).catch(() => undefined);
  }

  private hasLocal(kind: "audio" | "video"): boolean {
    const stream = this.ctx.local.stream;
    return ((kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks())?.length ?? 0) > 0;
  }

  /**
   * Turn on a device after joining without it: ask the browser for it, put it on our existing
   * upstream sender (replaceTrack, no renegotiation: MediaSession.addLocalTrack), then ask the
   * server to unmute / show the camera. The track stays disabled until the server's snapshot
   * says so, and the room's rule still holds it.
   */
  private async turnOn(kind: "audio" | "video"): Promise<void> {
    if (this.acquiring.has(kind)) return;
    this.acquiring.add(kind);
    this.rerender();
    try {
      const got = await acquireMedia({ audio: kind === "audio", video: kind === "video" }, { audioId: null, videoId: null });
      const track = (kind === "audio" ? got.stream.getAudioTracks() : got.stream.getVideoTracks())[0];
      if (!track) throw new DOMException("no track", "NotFoundError");
      if (this.destroyed) {
        track.stop();
        return;
      }
      const local = this.ctx.local;
      if (local.stream) local.stream.addTrack(track);
      else local.stream = new MediaStream([track]);
      local.mode = modeOf(local.stream);
      this.ctx.onLocalMedia?.(local);
      await this.ctx.media.addLocalTrack(kind, track as unknown as TrackLike);
      if (kind === "audio") await this.ctx.client.setMic(false).catch(() => undefined);
      else await this.ctx.client.setCamera(false).catch(() => undefined);
      this.ctx.feedback.announce(this.i18n.t(kind === "audio" ? "room.mic.turnedon" : "room.cam.turnedon"));
    } catch (e) {
      this.ctx.feedback.toast(this.i18n.t(`room.turnon.${classifyMediaError(e)}`), "error");
    } finally {
      this.acquiring.delete(kind);
      this.rerender();
    }
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
