// What my own controls do in the room: mute and unmute (the room's rule is never overridden),
// push-to-talk, the camera, and turning on a device after joining without it.

import type { TrackLike } from "../protocol/media";
import { type MicControl, micControl, micHeldByRoom, self } from "../protocol/view";
import { type JoinMode, acquireMedia, classifyMediaError } from "./devices";
import type { RoomContext } from "./room";

/** The join mode that matches the tracks now held (a camera without a microphone stays "listen"). */
function modeOf(stream: MediaStream | null): JoinMode {
  const audio = (stream?.getAudioTracks().length ?? 0) > 0;
  const video = (stream?.getVideoTracks().length ?? 0) > 0;
  return audio && video ? "full" : audio ? "audio" : "listen";
}

export interface ActionHooks {
  rerender: () => void;
  destroyed: () => boolean;
  /** Move focus to the note that explains a held microphone. */
  focusNote: (which: "held" | "listen") => void;
}

export class RoomActions {
  /** Devices being acquired (their buttons are disabled meanwhile). */
  readonly acquiring = new Set<"audio" | "video">();
  /** A local mute is under way (the snapshot may still say unmuted). */
  muting = false;

  constructor(
    private readonly ctx: RoomContext,
    private readonly hooks: ActionHooks,
  ) {}

  micState(): MicControl | null {
    const s = this.ctx.client.snapshot;
    const me = s ? self(s) : null;
    if (!s || !me) return null;
    return micControl({ hasTrack: this.hasLocal("audio"), heldByRoom: micHeldByRoom(s), selfMuted: me.self_muted });
  }

  /** Push-to-talk: open the microphone while Space is held, close it on release. */
  async talk(open: boolean): Promise<void> {
    const me = this.ctx.client.snapshot ? self(this.ctx.client.snapshot) : null;
    if (!me) return;
    if (!open) this.ctx.media.setMuteState({ selfMuted: true, ruleMuted: me.muted_by_rule, cameraOff: me.camera_off });
    await this.ctx.client.setMic(!open).catch(() => undefined);
  }

  async onMic(): Promise<void> {
    const s = this.ctx.client.snapshot;
    if (!s) return;
    const me = self(s);
    if (!me) return;
    if (!this.hasLocal("audio")) {
      // Listening only: turn a microphone on, unless the room holds microphones right now.
      if (micHeldByRoom(s)) this.hooks.focusNote("listen");
      else await this.turnOn("audio");
      return;
    }
    if (micHeldByRoom(s)) {
      // Ask anyway: the server decides. While its rule holds, it refuses and nothing changes.
      this.hooks.focusNote("held");
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

  async onCam(): Promise<void> {
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

  hasLocal(kind: "audio" | "video"): boolean {
    const stream = this.ctx.local.stream;
    return ((kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks())?.length ?? 0) > 0;
  }

  /**
   * Turn on a device after joining without it: ask the browser for it, put it on our existing
   * upstream sender (replaceTrack, no renegotiation: MediaSession.addLocalTrack), then ask the
   * server to unmute / show the camera. The track stays disabled until the server's snapshot
   * says so, and the room's rule still holds it.
   */
  async turnOn(kind: "audio" | "video"): Promise<void> {
    if (this.acquiring.has(kind)) return;
    this.acquiring.add(kind);
    this.hooks.rerender();
    try {
      const got = await acquireMedia({ audio: kind === "audio", video: kind === "video" }, { audioId: null, videoId: null });
      const track = (kind === "audio" ? got.stream.getAudioTracks() : got.stream.getVideoTracks())[0];
      if (!track) throw new DOMException("no track", "NotFoundError");
      if (this.hooks.destroyed()) {
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
      this.ctx.feedback.announce(this.ctx.i18n.t(kind === "audio" ? "room.mic.turnedon" : "room.cam.turnedon"));
    } catch (e) {
      this.ctx.feedback.toast(this.ctx.i18n.t(`room.turnon.${classifyMediaError(e)}`), "error");
    } finally {
      this.acquiring.delete(kind);
      this.hooks.rerender();
    }
  }
}
