// Device control inside the room: switch the microphone, the camera and the speaker without
// leaving. A new microphone or camera goes onto the existing upstream sender with replaceTrack
// (MediaSession.addLocalTrack: no renegotiation, the mute state carries over); the speaker is
// HTMLMediaElement.setSinkId on every tile. A short tone tests the speaker.

import type { I18n } from "../i18n";
import type { MediaSession, TrackLike } from "../protocol/media";
import {
  type DeviceChoice,
  acquireMedia,
  canChooseSpeaker,
  classifyMediaError,
  listDevices,
  listOutputs,
  playTestTone,
} from "./devices";
import { h, setText, show, uid } from "./dom";
import type { Feedback } from "./feedback";

export interface DeviceHost {
  i18n: I18n;
  feedback: Feedback;
  media: MediaSession;
  /** The local stream (its tracks are swapped in place). */
  stream: () => MediaStream | null;
  /** The devices now in use (kept for a reload). */
  choice: DeviceChoice;
  onChoice: (choice: DeviceChoice) => void;
  /** Play every tile's sound on this speaker. */
  setSpeaker: (sinkId: string) => Promise<void>;
  /** Redraw the room (my own tile shows the new camera). */
  changed: () => void;
}

export class DevicePanel {
  readonly el: HTMLDialogElement;
  private readonly micSel: HTMLSelectElement;
  private readonly camSel: HTMLSelectElement;
  private readonly outSel: HTMLSelectElement;
  private readonly noSink: HTMLElement;
  private readonly status: HTMLElement;
  private sinkId = "";
  private busy = false;

  constructor(private readonly host: DeviceHost) {
    const t = host.i18n.t.bind(host.i18n);
    const ids = { mic: uid("room-mic"), cam: uid("room-cam"), out: uid("room-out"), title: uid("devices-h") };
    this.micSel = h("select", { id: ids.mic, "data-testid": "device-mic", onchange: () => void this.switchInput("audio") });
    this.camSel = h("select", { id: ids.cam, "data-testid": "device-cam", onchange: () => void this.switchInput("video") });
    this.outSel = h("select", { id: ids.out, "data-testid": "device-speaker", onchange: () => void this.switchOutput() });
    this.noSink = h("p", { class: "muted small", text: t("room.devices.nosink"), hidden: true });
    this.status = h("p", { class: "small", role: "status", "data-testid": "device-status" });
    const close = h("button", { type: "button", class: "btn", text: t("room.devices.close"), onclick: () => this.el.close() });
    const test = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "device-test",
      text: t("room.devices.test"),
      onclick: () => void this.test(),
    });
    this.el = h(
      "dialog",
      { class: "dialog devices-dialog", "aria-labelledby": ids.title, "data-testid": "devices" },
      h("h2", { id: ids.title, text: t("room.devices.title") }),
      h("div", { class: "field" }, h("label", { for: ids.mic, text: t("room.devices.mic") }), this.micSel),
      h("div", { class: "field" }, h("label", { for: ids.cam, text: t("room.devices.cam") }), this.camSel),
      h("div", { class: "field" }, h("label", { for: ids.out, text: t("room.devices.speaker") }), this.outSel, this.noSink),
      this.status,
      h("div", { class: "dialog-actions" }, test, close),
    );
  }

  async open(): Promise<void> {
    if (!this.el.isConnected) document.body.append(this.el);
    setText(this.status, "");
    await this.fill();
    if (!this.el.open) this.el.showModal();
  }

  destroy(): void {
    if (this.el.open) this.el.close();
    this.el.remove();
  }

  private async fill(): Promise<void> {
    const t = this.host.i18n.t.bind(this.host.i18n);
    const { audio, video } = await listDevices();
    const stream = this.host.stream();
    const mic = stream?.getAudioTracks()[0]?.getSettings().deviceId ?? null;
    const cam = stream?.getVideoTracks()[0]?.getSettings().deviceId ?? null;
    const fill = (sel: HTMLSelectElement, list: MediaDeviceInfo[], current: string | null, have: boolean): void => {
      sel.replaceChildren(
        ...list.map((d, i) =>
          h("option", {
            value: d.deviceId,
            selected: d.deviceId === current,
            text: d.label || `${t("prejoin.device.default")} ${this.host.i18n.number(i + 1)}`,
          }),
        ),
      );
      // Switching needs a device in use: someone listening only turns one on first.
      sel.disabled = !have || list.length <= 1;
    };
    fill(this.micSel, audio, mic, mic !== null);
    fill(this.camSel, video, cam, cam !== null);
    const outputs = canChooseSpeaker() ? await listOutputs() : [];
    this.outSel.replaceChildren(
      h("option", { value: "", text: t("room.devices.default"), selected: this.sinkId === "" }),
      ...outputs
        .filter((d) => d.deviceId !== "default" && d.deviceId !== "")
        .map((d, i) =>
          h("option", {
            value: d.deviceId,
            selected: d.deviceId === this.sinkId,
            text: d.label || `${t("room.devices.speaker")} ${this.host.i18n.number(i + 1)}`,
          }),
        ),
    );
    this.outSel.disabled = !canChooseSpeaker() || this.outSel.options.length <= 1;
    show(this.noSink, !canChooseSpeaker());
  }

  /** Put the chosen microphone or camera on the existing sender and stop the old one. */
  private async switchInput(kind: "audio" | "video"): Promise<void> {
    const sel = kind === "audio" ? this.micSel : this.camSel;
    const id = sel.value;
    const stream = this.host.stream();
    const old = (kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks())?.[0];
    if (!stream || !old || this.busy || old.getSettings().deviceId === id) return;
    this.busy = true;
    const t = this.host.i18n.t.bind(this.host.i18n);
    try {
      const want = { audio: kind === "audio", video: kind === "video" };
      const choice = kind === "audio" ? { audioId: id, videoId: null } : { audioId: null, videoId: id };
      const got = await acquireMedia(want, choice);
      const track = (kind === "audio" ? got.stream.getAudioTracks() : got.stream.getVideoTracks())[0];
      if (!track) throw new DOMException("no track", "NotFoundError");
      await this.host.media.addLocalTrack(kind, track as unknown as TrackLike);
      stream.removeTrack(old);
      old.stop();
      stream.addTrack(track);
      this.host.choice = kind === "audio" ? { ...this.host.choice, audioId: id } : { ...this.host.choice, videoId: id };
      this.host.onChoice(this.host.choice);
      this.host.changed();
      const name = sel.selectedOptions[0]?.textContent ?? "";
      const text = t(kind === "audio" ? "room.devices.switched.audio" : "room.devices.switched.video", { name });
      setText(this.status, text);
    } catch (e) {
      setText(this.status, t(`room.turnon.${classifyMediaError(e)}`));
      sel.value = old.getSettings().deviceId ?? sel.value;
    } finally {
      this.busy = false;
    }
  }

  private async switchOutput(): Promise<void> {
    const t = this.host.i18n.t.bind(this.host.i18n);
    const id = this.outSel.value;
    try {
      await this.host.setSpeaker(id);
      this.sinkId = id;
      setText(this.status, t("room.devices.switched.speaker", { name: this.outSel.selectedOptions[0]?.textContent ?? "" }));
    } catch {
      setText(this.status, t("room.turnon.other"));
      this.outSel.value = this.sinkId;
    }
  }

  private async test(): Promise<void> {
    const t = this.host.i18n.t.bind(this.host.i18n);
    try {
      await playTestTone(this.sinkId);
      setText(this.status, t("room.devices.testing"));
    } catch {
      setText(this.status, t("room.turnon.other"));
    }
  }
}
