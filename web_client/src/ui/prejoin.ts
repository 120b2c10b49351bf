// The pre-join check: camera preview, microphone level, device choice, a speaker test, clear
// messages when permission is denied or no device exists, the group agreement (before "Join",
// to agree to once per version), and three ways in (full, audio only, listen only).

import type { I18n } from "../i18n";
import type { SessionSummary } from "../protocol/types";
import {
  type DeviceChoice,
  type JoinMode,
  LevelMeter,
  type MediaProblem,
  acquireMedia,
  canChooseSpeaker,
  classifyMediaError,
  listDevices,
  listOutputs,
  playTestTone,
  stopStream,
} from "./devices";
import { agreementBody } from "./agreement";
import { h, setText, show, uid } from "./dom";
import { icon } from "./icons";
import type { Screen } from "./screen";

export interface PrejoinResult {
  mode: JoinMode;
  stream: MediaStream | null;
  choice: DeviceChoice;
  /** The agreement version the person agreed to on this page (null: none to agree to here). */
  agreedVersion: string | null;
}

export class PrejoinScreen implements Screen {
  readonly el: HTMLElement;
  readonly title: string;
  private stream: MediaStream | null = null;
  private meter: LevelMeter | null = null;
  private readonly video: HTMLVideoElement;
  private readonly levelBar: HTMLMeterElement;
  private readonly levelText: HTMLElement;
  private readonly problemBox: HTMLElement;
  private readonly askingText: HTMLElement;
  private readonly audioSelect: HTMLSelectElement;
  private readonly videoSelect: HTMLSelectElement;
  private readonly joinFull: HTMLButtonElement;
  private readonly joinAudio: HTMLButtonElement;
  private readonly joinListen: HTMLButtonElement;
  private readonly avBlock: HTMLElement;
  private readonly speakerSelect: HTMLSelectElement;
  private readonly speakerStatus: HTMLElement;
  private readonly agreeBox: HTMLInputElement | null = null;
  private readonly agreeNeeded: HTMLElement;
  private choice: DeviceChoice;
  private heardSomething = false;
  private destroyed = false;

  constructor(
    private readonly i18n: I18n,
    private readonly session: SessionSummary,
    initial: DeviceChoice,
    private readonly onJoin: (r: PrejoinResult) => void,
  ) {
    const t = i18n.t.bind(i18n);
    this.choice = { ...initial };
    this.title = t("prejoin.title", { group: session.group_name });
    const levelId = uid("level");
    const audioId = uid("mic");
    const videoId = uid("cam");
    this.video = h("video", {
      class: "preview",
      autoplay: true,
      playsinline: true,
      muted: true,
      "aria-label": t("prejoin.preview"),
    });
    this.video.muted = true;
    this.levelBar = h("meter", { id: levelId, min: 0, max: 1, low: 0.05, optimum: 0.5, value: 0 });
    this.levelText = h("p", { class: "level-text", "aria-live": "polite" });
    this.problemBox = h("div", { class: "problem", role: "alert", hidden: true });
    this.askingText = h("p", { class: "muted", text: t("prejoin.asking") });
    this.audioSelect = h("select", { id: audioId, onchange: () => this.onDeviceChange() });
    this.videoSelect = h("select", { id: videoId, onchange: () => this.onDeviceChange() });
    this.joinFull = h("button", {
      type: "button",
      class: "btn btn-primary",
      "data-testid": "join-full",
      text: t("prejoin.join"),
      onclick: () => this.join("full"),
    });
    this.joinAudio = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "join-audio",
      text: t("prejoin.join.audio"),
      onclick: () => this.join("audio"),
    });
    this.joinListen = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "join-listen",
      text: t("prejoin.join.listen"),
      onclick: () => this.join("listen"),
    });
    const speakerId = uid("speaker");
    this.speakerSelect = h("select", { id: speakerId, "data-testid": "prejoin-speaker" });
    this.speakerStatus = h("p", { class: "small", role: "status", "data-testid": "speaker-status" });
    const speakerTest = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "speaker-test",
      text: t("room.devices.test"),
      onclick: () => void this.testSpeaker(),
    });
    this.avBlock = h(
      "div",
      { class: "prejoin-av" },
      h("div", { class: "preview-box" }, this.video),
      h(
        "div",
        { class: "prejoin-devices" },
        h("label", { for: audioId, text: t("prejoin.microphone") }),
        this.audioSelect,
        h("label", { for: levelId, text: t("prejoin.level") }),
        this.levelBar,
        this.levelText,
        h("label", { for: videoId, text: t("prejoin.camera") }),
        this.videoSelect,
        h("label", { for: speakerId, text: t("room.devices.speaker") }),
        h("div", { class: "row" }, this.speakerSelect, speakerTest),
        this.speakerStatus,
      ),
    );
    // The group agreement, before the ways in: agreed here once per version.
    const ag = session.agreement ?? null;
    this.agreeNeeded = h("p", { class: "problem small", role: "alert", hidden: true, "data-testid": "agreement-needed" });
    let agreement: HTMLElement | null = null;
    if (ag) {
      const boxId = uid("agree");
      if (!ag.accepted) this.agreeBox = h("input", { type: "checkbox", id: boxId, "data-testid": "agreement-check" });
      agreement = h(
        "section",
        { class: "agreement", "aria-labelledby": `${boxId}-h`, "data-testid": "prejoin-agreement" },
        h("h2", { id: `${boxId}-h`, text: t("agreement.title") }),
        agreementBody(i18n, session),
        this.agreeBox
          ? h("p", { class: "agree-line" }, this.agreeBox, h("label", { for: boxId, text: t("agreement.check") }))
          : h("p", { class: "muted small", text: t("agreement.accepted") }),
        this.agreeNeeded,
      );
      this.agreeBox?.addEventListener("change", () => show(this.agreeNeeded, false));
    }
    this.el = h(
      "section",
      { class: "card prejoin", "aria-labelledby": "prejoin-h" },
      h("h1", { id: "prejoin-h", text: this.title }),
      h("p", { text: t("prejoin.intro") }),
      this.askingText,
      this.problemBox,
      this.avBlock,
      agreement,
      h("div", { class: "actions" }, this.joinFull, this.joinAudio, this.joinListen),
      h("p", { class: "muted small with-icon" }, icon("lock"), t("prejoin.privacy")),
    );
    void this.check();
  }

  /** Ask for the devices again (also after the person fixed a permission). */
  private async check(): Promise<void> {
    this.stopMedia();
    // Until the devices answer, only listening is possible (a prompt may sit unanswered).
    this.joinFull.disabled = true;
    this.joinAudio.disabled = true;
    show(this.askingText, true);
    show(this.problemBox, false);
    try {
      const { stream, cameraMissing } = await acquireMedia({ audio: true, video: true }, this.choice);
      if (this.destroyed) {
        stopStream(stream);
        return;
      }
      this.stream = stream;
      this.video.srcObject = stream;
      this.video.play().catch(() => undefined);
      this.meter = new LevelMeter(stream, (level) => this.onLevel(level));
      this.setProblem(null, cameraMissing);
      await this.fillDevices();
    } catch (e) {
      if (this.destroyed) return;
      this.setProblem(classifyMediaError(e), false);
    } finally {
      show(this.askingText, false);
    }
  }

  private setProblem(problem: MediaProblem | null, cameraMissing: boolean): void {
    const t = this.i18n.t.bind(this.i18n);
    const hasAudio = (this.stream?.getAudioTracks().length ?? 0) > 0;
    const hasVideo = (this.stream?.getVideoTracks().length ?? 0) > 0;
    this.joinFull.disabled = !hasVideo || !hasAudio;
    this.joinAudio.disabled = !hasAudio;
    show(this.avBlock, problem === null);
    this.el.dataset["problem"] = problem ?? (cameraMissing ? "nocamera" : "none");
    if (problem === null && !cameraMissing) {
      show(this.problemBox, false);
      return;
    }
    const retry = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "prejoin-retry",
      text: t("prejoin.retry"),
      onclick: () => void this.check(),
    });
    if (problem === null) {
      this.problemBox.replaceChildren(h("p", { text: t("prejoin.nocamera") }));
      this.problemBox.setAttribute("role", "status");
    } else {
      const [title, body] =
        problem === "denied"
          ? [t("prejoin.denied.title"), t("prejoin.denied.body")]
          : problem === "nodevice"
            ? [t("prejoin.nodevice.title"), t("prejoin.nodevice.body")]
            : problem === "busy"
              ? [t("prejoin.busy.title"), t("prejoin.busy.body")]
              : [t("prejoin.nodevice.title"), t("error.generic")];
      this.problemBox.setAttribute("role", "alert");
      this.problemBox.replaceChildren(
        h("h2", { text: title }),
        h("p", { text: body }),
        retry,
      );
    }
    show(this.problemBox, true);
    (problem === null ? this.joinAudio : this.joinListen).classList.add("btn-primary");
  }

  private onLevel(level: number): void {
    this.levelBar.value = level;
    if (level > 0.04) this.heardSomething = true;
    const t = this.i18n.t.bind(this.i18n);
    setText(this.levelText, this.heardSomething ? t("prejoin.level.ok") : t("prejoin.level.silent"));
  }

  private async fillDevices(): Promise<void> {
    const { audio, video } = await listDevices();
    const currentAudio = this.stream?.getAudioTracks()[0]?.getSettings().deviceId ?? null;
    const currentVideo = this.stream?.getVideoTracks()[0]?.getSettings().deviceId ?? null;
    const fill = (sel: HTMLSelectElement, devices: MediaDeviceInfo[], current: string | null): void => {
      sel.replaceChildren(
        ...devices.map((d, i) =>
          h("option", {
            value: d.deviceId,
            selected: d.deviceId === current,
            text: d.label || `${this.i18n.t("prejoin.device.default")} ${this.i18n.number(i + 1)}`,
          }),
        ),
      );
      sel.disabled = devices.length <= 1;
    };
    fill(this.audioSelect, audio, currentAudio);
    fill(this.videoSelect, video, currentVideo);
    const outputs = canChooseSpeaker() ? (await listOutputs()).filter((d) => d.deviceId !== "default" && d.deviceId !== "") : [];
    this.speakerSelect.replaceChildren(
      h("option", { value: "", text: this.i18n.t("room.devices.default") }),
      ...outputs.map((d, i) =>
        h("option", { value: d.deviceId, text: d.label || `${this.i18n.t("room.devices.speaker")} ${this.i18n.number(i + 1)}` }),
      ),
    );
    this.speakerSelect.disabled = outputs.length === 0;
    this.choice = { audioId: currentAudio, videoId: currentVideo };
  }

  private onDeviceChange(): void {
    this.choice = {
      audioId: this.audioSelect.value || null,
      videoId: this.videoSelect.value || null,
    };
    void this.check();
  }

  private async testSpeaker(): Promise<void> {
    const t = this.i18n.t.bind(this.i18n);
    try {
      await playTestTone(this.speakerSelect.value);
      setText(this.speakerStatus, t("room.devices.testing"));
    } catch {
      setText(this.speakerStatus, t("room.turnon.other"));
    }
  }

  private join(mode: JoinMode): void {
    if (this.agreeBox && !this.agreeBox.checked) {
      // Agree first: said next to the box, which gets the focus.
      setText(this.agreeNeeded, this.i18n.t("agreement.needed"));
      show(this.agreeNeeded, true);
      this.agreeBox.focus();
      return;
    }
    const stream = this.stream;
    if (stream) {
      if (mode !== "full") for (const t of stream.getVideoTracks()) t.stop();
      if (mode === "listen") for (const t of stream.getAudioTracks()) t.stop();
    }
    const kept = stream && mode !== "listen" ? new MediaStream(stream.getTracks().filter((t) => t.readyState === "live")) : null;
    this.stream = null; // handed over: the room owns it now
    this.meter?.stop();
    this.meter = null;
    this.video.srcObject = null;
    for (const b of [this.joinFull, this.joinAudio, this.joinListen]) b.disabled = true;
    setText(this.joinFull, this.i18n.t("prejoin.joining"));
    const ag = this.session.agreement ?? null;
    this.onJoin({ mode, stream: kept, choice: this.choice, agreedVersion: ag && this.agreeBox ? ag.version : null });
  }

  private stopMedia(): void {
    this.meter?.stop();
    this.meter = null;
    stopStream(this.stream);
    this.stream = null;
  }

  destroy(): void {
    this.destroyed = true;
    this.stopMedia();
  }
}
