// The room's phase banner: which step of the protocol, its name, what it asks of me, and the
// countdown. Also the words for a phase and for why the room holds the microphones.

import type { I18n } from "../i18n";
import { countdown, splitDuration } from "../protocol/clock";
import { isSitBack, phasePosition } from "../protocol/phases";
import type { Participant, Snapshot } from "../protocol/types";
import { h, setText, show } from "./dom";
import { icon } from "./icons";

export function phaseName(i18n: I18n, phase: string): string {
  return i18n.maybe(`phase.${phase}`) ?? phase.replace(/_/g, " ");
}

/** What the phase asks of me (the presenter may be asked something else). */
export function askText(i18n: I18n, s: Snapshot, me: Participant | null): string {
  const presenter = s.participants.find((p) => p.person_id === s.presenter_id);
  const isPresenter = me !== null && me.person_id === s.presenter_id;
  const params = { presenter: presenter?.display_name ?? i18n.t("phase.nopresenter") };
  return (
    (isPresenter ? i18n.maybe(`phase.${s.phase}.ask.presenter`, params) : null) ??
    i18n.maybe(`phase.${s.phase}.ask`, params) ??
    i18n.t("phase.unknown.ask")
  );
}

/** Why the room holds my microphone now. */
export function heldText(i18n: I18n, s: Snapshot, me: Participant | null): string {
  const t = i18n.t.bind(i18n);
  if (s.ended || s.phase === "closed") return t("held.closed");
  if (me && me.person_id === s.presenter_id && isSitBack(s.protocol, s.phase)) return t("held.sitback");
  if (s.phase === "presentation") return t("held.presentation");
  if (s.floor === "hands") return t("held.hands");
  return t("held.generic");
}

export class PhaseBanner {
  readonly el: HTMLElement;
  private readonly stepEl: HTMLElement;
  private readonly phaseTitle: HTMLElement;
  private readonly askEl: HTMLElement;
  private readonly countdownEl: HTMLElement;
  private readonly pausedEl: HTMLElement;

  constructor(private readonly i18n: I18n) {
    this.stepEl = h("p", { class: "phase-step" });
    this.phaseTitle = h("h1", { id: "phase-title", class: "phase-title", "data-testid": "phase-title" });
    this.askEl = h("p", { class: "phase-ask", "data-testid": "phase-ask" });
    this.countdownEl = h("span", { class: "countdown-text", "data-testid": "countdown" });
    this.pausedEl = h("span", { class: "badge badge-paused", hidden: true }, icon("pause"), i18n.t("room.phase.paused"));
    this.el = h(
      "section",
      { class: "phase-banner", "aria-labelledby": "phase-title", "data-testid": "phase-banner" },
      h("div", { class: "phase-text" }, this.stepEl, this.phaseTitle, this.askEl),
      h("div", { class: "countdown", role: "timer", "aria-live": "off" }, icon("clock"), this.countdownEl, this.pausedEl),
    );
  }

  update(s: Snapshot, me: Participant | null): void {
    const pos = phasePosition(s.protocol, s.phase, s.phases);
    setText(this.stepEl, pos.index > 0 ? this.i18n.t("room.phase.step", { n: pos.index, total: pos.count }) : "");
    setText(this.phaseTitle, phaseName(this.i18n, s.phase));
    setText(this.askEl, askText(this.i18n, s, me));
    this.el.dataset["phase"] = s.phase;
    show(this.pausedEl, s.paused);
  }

  /** The countdown at `nowMs` (the server's clock). */
  tick(s: Snapshot, nowMs: number): void {
    const cd = countdown(s, nowMs);
    const t = this.i18n.t.bind(this.i18n);
    let text: string;
    if (cd.kind === "untimed") text = t("room.countdown.untimed");
    else if (cd.kind === "remaining") text = t("room.countdown.left", { time: this.i18n.duration(splitDuration(cd.ms, true)) });
    else text = `+${t("room.countdown.over", { time: this.i18n.duration(splitDuration(cd.ms, false)) })}`;
    setText(this.countdownEl, text);
    this.el.classList.toggle("overrun", cd.kind === "overrun");
    this.el.dataset["countdown"] = cd.kind;
  }
}
