// The room's status line under the phase banner: who has the floor (announced to the person
// who got it: "You have the floor: the group can hear you"), the accepted presenter told so,
// and in the waiting room when it starts (in the person's zone), who is already here and, for
// the leader, the next step.

import type { I18n } from "../i18n";
import { phasePosition } from "../protocol/phases";
import { floorHolder, iAmPresenter, leaderNextStep, minutesUntil } from "../protocol/room-view";
import type { Snapshot } from "../protocol/types";
import { tileOrder } from "../protocol/view";
import { h, setText, show } from "./dom";
import type { Feedback } from "./feedback";
import { icon } from "./icons";
import { phaseName } from "./phase-banner";

export class RoomStatus {
  readonly el: HTMLElement;
  private readonly floorEl: HTMLElement;
  private readonly floorText: HTMLElement;
  private readonly presenterEl: HTMLElement;
  private readonly waitingEl: HTMLElement;
  private readonly startsEl: HTMLElement;
  private readonly hereEl: HTMLElement;
  private readonly nextEl: HTMLElement;
  private lastFloor: string | null | undefined = undefined;
  private lastPresenter: boolean | null = null;

  constructor(
    private readonly i18n: I18n,
    private readonly feedback: Feedback,
    /** The session's planned start (ms since the epoch). */
    private readonly startsAtMs: number,
  ) {
    this.floorText = h("span");
    this.floorEl = h("p", { class: "floor-line with-icon", "data-testid": "floor-line", hidden: true }, icon("floor"), this.floorText);
    this.presenterEl = h("p", { class: "floor-line with-icon", "data-testid": "presenter-notice", hidden: true });
    this.startsEl = h("p", { class: "waiting-starts with-icon", "data-testid": "waiting-starts" });
    this.hereEl = h("p", { class: "waiting-here", "data-testid": "waiting-here" });
    this.nextEl = h("p", { class: "waiting-next with-icon", "data-testid": "waiting-next", hidden: true });
    this.waitingEl = h("div", { class: "waiting-info", "data-testid": "waiting-info", hidden: true }, this.startsEl, this.hereEl, this.nextEl);
    this.el = h("div", { class: "room-status" }, this.floorEl, this.presenterEl, this.waitingEl);
  }

  /** Returns true when it announced something (the floor or the presenter) just now. */
  update(s: Snapshot, nowMs: number): boolean {
    let said = false;
    const t = this.i18n.t.bind(this.i18n);
    // The floor, for everyone; the person who has it hears it said.
    const holder = floorHolder(s);
    show(this.floorEl, holder !== null);
    this.floorEl.classList.toggle("mine", holder?.mine === true);
    if (holder) {
      setText(this.floorText, holder.mine ? t("room.floor.mine") : t("room.floor.other", { name: holder.person.display_name }));
    }
    const floorKey = holder ? holder.person.person_id : null;
    if (this.lastFloor !== undefined && floorKey !== this.lastFloor) {
      if (holder?.mine) {
        this.feedback.announce(t("room.floor.mine"));
        said = true;
      } else if (this.lastFloor === s.you.person_id) {
        this.feedback.announce(t("room.floor.taken"));
        said = true;
      }
    }
    this.lastFloor = floorKey;

    // The accepted presenter is told so (before the presentation starts).
    const presenterNow = iAmPresenter(s) && s.phase === "waiting";
    show(this.presenterEl, presenterNow);
    if (presenterNow) setText(this.presenterEl, t("room.presenter.you"));
    if (this.lastPresenter !== null && presenterNow && !this.lastPresenter) {
      this.feedback.announce(t("room.presenter.you"));
      said = true;
    }
    this.lastPresenter = presenterNow;

    // The waiting room.
    const waiting = s.phase === "waiting" && !s.ended;
    show(this.waitingEl, waiting);
    if (!waiting) return said;
    const time = this.i18n.time(this.startsAtMs);
    setText(
      this.startsEl,
      this.startsAtMs > nowMs
        ? t("room.waiting.starts", { time, minutes: minutesUntil(this.startsAtMs, nowMs) })
        : t("room.waiting.started", { time }),
    );
    const here = tileOrder(s.participants).filter((p) => p.presence === "present");
    setText(this.hereEl, t("room.waiting.here", { n: here.length, names: here.map((p) => p.display_name).join(this.i18n.locale === "fa" ? "، " : ", ") }));
    const step = leaderNextStep(s);
    show(this.nextEl, step !== null);
    if (step === "choose_presenter") setText(this.nextEl, t("room.waiting.next.choose_presenter"));
    else if (step === "press_next") {
      const next = phasePosition(s.protocol, s.phase, s.phases).next;
      const label = next ? t("console.advance", { phase: phaseName(this.i18n, next) }) : t("console.advance.plain");
      setText(this.nextEl, t("room.waiting.next.press_next", { next: label }));
    }
    return said;
  }
}
