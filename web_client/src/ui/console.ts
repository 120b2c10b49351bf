// The leader console, inside the room view for leaders and co-leaders: phase controls, the
// presenter and the raised hands in order, the floor, the roster, and a private note.
// Which controls appear follows the capabilities the server grants (lead, moderate, note).

import type { I18n } from "../i18n";
import { phasePosition } from "../protocol/phases";
import type { RoomClient } from "../protocol/room-client";
import type { LeaderCommand, Snapshot } from "../protocol/types";
import { advanceGuard, consoleRights, floorHolder, presenterGuard } from "../protocol/room-view";
import { canLead, canModerate, canNote, handQueue } from "../protocol/view";
import { h, replaceChildrenKeepFocus, setText, show, srOnly, uid } from "./dom";
import { type Feedback, confirmDialog, errorText } from "./feedback";
import { icon } from "./icons";
import { handOverTargets } from "../i18n/parts/formats";

export class LeaderConsole {
  readonly el: HTMLElement;
  private readonly phaseBox: HTMLElement;
  private readonly advanceBtn: HTMLButtonElement;
  private readonly backBtn: HTMLButtonElement;
  private readonly pauseBtn: HTMLButtonElement;
  private readonly timeBox: HTMLElement;
  private readonly presenterText: HTMLElement;
  private readonly presenterSelect: HTMLSelectElement;
  private readonly presenterBox: HTMLElement;
  private readonly handsList: HTMLOListElement;
  private readonly handsEmpty: HTMLElement;
  private readonly floorBox: HTMLElement;
  private readonly floorHands: HTMLButtonElement;
  private readonly floorOpen: HTMLButtonElement;
  private readonly rosterHeading: HTMLElement;
  private readonly rosterList: HTMLUListElement;
  private readonly noteBox: HTMLElement;
  private readonly noteArea: HTMLTextAreaElement;
  private readonly noteStatus: HTMLElement;
  private readonly advanceWhy: HTMLElement;
  private readonly endBtn: HTMLButtonElement;
  private readonly presenterLabel: HTMLElement;
  private readonly presenterWhy: HTMLElement;
  private readonly presenterSetBtn: HTMLButtonElement;
  private readonly floorHolderText: HTMLElement;
  private readonly takeBackBtn: HTMLButtonElement;
  private readonly rightsText: HTMLElement;
  private readonly handBox: HTMLElement;
  private readonly handSelect: HTMLSelectElement;
  private readonly handBtn: HTMLButtonElement;
  private readonly handWhy: HTMLElement;
  private noteDirty = false;
  private snap: Snapshot | null = null;

  constructor(
    private readonly i18n: I18n,
    private readonly client: RoomClient,
    private readonly feedback: Feedback,
  ) {
    const t = i18n.t.bind(i18n);
    const btn = (text: string, onclick: () => void, extra: Record<string, string> = {}): HTMLButtonElement =>
      h("button", { type: "button", class: "btn", text, onclick, ...extra });

    this.advanceBtn = btn(t("console.advance.plain"), () => this.send({ command: "advance" }), {
      "data-testid": "console-advance",
      class: "btn btn-primary",
    });
    this.backBtn = btn(t("console.back.plain"), () => this.send({ command: "back" }), {
      "data-testid": "console-back",
    });
    this.pauseBtn = btn(t("console.pause"), () => this.togglePause(), { "data-testid": "console-pause" });
    this.endBtn = btn(t("console.end"), () => void this.end(), {
      "data-testid": "console-end",
      class: "btn btn-danger",
    });
    const advanceWhyId = uid("advance-why");
    this.advanceWhy = h("p", { id: advanceWhyId, class: "why with-icon", "data-testid": "console-advance-why", hidden: true });
    this.advanceBtn.setAttribute("aria-describedby", advanceWhyId);
    this.phaseBox = h(
      "div",
      { class: "console-group", role: "group", "aria-label": t("console.phase") },
      this.backBtn,
      this.advanceBtn,
      this.advanceWhy,
    );
    this.timeBox = h(
      "div",
      { class: "console-group", role: "group", "aria-label": t("console.time") },
      this.pauseBtn,
      btn(t("console.shorten1"), () => this.send({ command: "adjust", seconds: -60 }), {
        title: t("console.shorten1.label"),
        "data-testid": "console-shorten1",
      }),
      btn(t("console.extend1"), () => this.send({ command: "adjust", seconds: 60 }), {
        title: t("console.extend1.label"),
        "data-testid": "console-extend1",
      }),
      btn(t("console.extend5"), () => this.send({ command: "adjust", seconds: 300 }), {
        title: t("console.extend5.label"),
        "data-testid": "console-extend5",
      }),
    );

    const selId = uid("presenter");
    const presenterWhyId = uid("presenter-why");
    this.presenterText = h("p", { class: "console-presenter" });
    this.presenterSelect = h("select", { id: selId, "aria-describedby": presenterWhyId, "data-testid": "console-presenter-select" });
    this.presenterWhy = h("p", { id: presenterWhyId, class: "why", "data-testid": "console-presenter-why", hidden: true });
    this.presenterSetBtn = btn(t("console.presenter.set"), () => this.choosePresenter(), {
      "data-testid": "console-set-presenter",
      "aria-describedby": presenterWhyId,
    });
    this.presenterBox = h(
      "div",
      { class: "console-choose" },
      (this.presenterLabel = h("label", { for: selId, text: t("console.presenter.choose") })),
      h(
        "div",
        { class: "row" },
        this.presenterSelect,
        this.presenterSetBtn,
      ),
      this.presenterWhy,
    );
    this.handsList = h("ol", { class: "hands", "data-testid": "console-hands" });
    this.handsEmpty = h("p", { class: "muted", text: t("console.hands.none") });

    this.floorHands = btn(t("console.floor.hands"), () => this.send({ command: "set_floor", floor: "hands" }));
    this.floorOpen = btn(t("console.floor.open"), () => this.send({ command: "set_floor", floor: "open" }));
    this.floorHolderText = h("p", { class: "console-floor-holder", "data-testid": "console-floor-holder" });
    this.takeBackBtn = btn(t("console.floor.takeback"), () => this.send({ command: "call_on", clear: true }), {
      "data-testid": "console-take-back",
    });
    this.floorBox = h(
      "section",
      { class: "console-section" },
      h(
        "div",
        { class: "console-group console-floor" },
        h("h3", { text: t("console.floor") }),
        h("div", { class: "console-group", role: "group", "aria-label": t("console.floor") }, this.floorHands, this.floorOpen),
      ),
      h("div", { class: "row" }, this.floorHolderText, this.takeBackBtn),
    );

    // Leader continuity (issue 15): hand leading to a co-leader present, or back to the leader.
    const handSelId = uid("handover");
    const handWhyId = uid("handover-why");
    this.handSelect = h("select", { id: handSelId, "aria-describedby": handWhyId, "data-testid": "console-handover-to" });
    this.handWhy = h("p", { id: handWhyId, class: "why", "data-testid": "console-handover-why", hidden: true });
    this.handBtn = btn(t("formats.handover"), () => this.handOver(), {
      "data-testid": "console-handover",
      "aria-describedby": handWhyId,
    });
    // Inside the folded roster (whom to hand to is who is here): the console must fit 1280x800.
    this.handBox = h(
      "div",
      { class: "console-choose", "data-testid": "console-handover-box" },
      h("label", { for: handSelId, text: t("formats.handover.to") }),
      h("div", { class: "row" }, this.handSelect, this.handBtn),
      this.handWhy,
    );

    this.rosterHeading = h("summary");
    this.rightsText = h("p", { class: "console-rights small", "data-testid": "console-rights", hidden: true });
    this.rosterList = h("ul", { class: "roster", "data-testid": "console-roster" });

    const noteId = uid("note");
    const noteHelpId = uid("note-help");
    this.noteArea = h("textarea", {
      id: noteId,
      rows: 2,
      // No maxlength: it counts UTF-16 units (an emoji as two); sendNote checks characters.
      "aria-describedby": noteHelpId,
      "data-testid": "console-note",
    });
    this.noteArea.addEventListener("input", () => {
      this.noteDirty = true;
    });
    this.noteStatus = h("p", { class: "muted small", role: "status" });
    this.noteBox = h(
      "section",
      { class: "console-section" },
      h("h3", {}, h("label", { for: noteId, class: "with-icon" }, icon("lock"), t("console.note"))),
      h("p", { id: noteHelpId, class: "muted small", text: t("console.note.help") }),
      this.noteArea,
      btn(t("console.note.save"), () => void this.saveNote(), { "data-testid": "console-note-save" }),
      this.noteStatus,
    );

    this.el = h(
      "aside",
      { class: "console", "aria-labelledby": "console-h", "data-testid": "leader-console", id: "leader-console", tabindex: "-1" },
      h("div", { class: "console-head" }, h("h2", { id: "console-h", text: t("console.title") }), this.endBtn),
      this.rightsText,
      h(
        "section",
        { class: "console-section" },
        h("h3", { class: "sr-only", text: t("console.phase") }),
        this.phaseBox,
        this.timeBox,
      ),
      h(
        "section",
        { class: "console-section" },
        // "Presenter: Amir" says it; the heading is there for screen-reader navigation.
        h("h3", { class: "sr-only", text: t("console.presenter") }),
        this.presenterText,
        h("h4", { text: t("console.hands") }),
        this.handsEmpty,
        this.handsList,
        this.presenterBox,
      ),
      this.floorBox,
      // The roster folds away (the gallery shows everyone) so the console fits a 1280x800 screen.
      h("details", { class: "console-section console-roster" }, this.rosterHeading, this.rosterList, this.handBox),
      this.noteBox,
    );
    const note = client.note;
    if (note) this.noteArea.value = note.text;
    client.events.on("note", (n) => {
      if (document.activeElement === this.noteArea && this.noteDirty) {
        setText(this.noteStatus, this.i18n.t("console.note.updated"));
        return;
      }
      this.noteArea.value = n.text;
      this.noteDirty = false;
    });
  }

  update(s: Snapshot): void {
    this.snap = s;
    const t = this.i18n.t.bind(this.i18n);
    const lead = canLead(s);
    const moderate = canModerate(s);
    const phaseName = (p: string | null): string | null =>
      p !== null ? this.i18n.maybe(`phase.${p}`) : null;
    const pos = phasePosition(s.protocol, s.phase, s.phases);
    const next = phaseName(pos.next);
    const prev = phaseName(pos.previous);
    setText(this.advanceBtn, next ? t("console.advance", { phase: next }) : t("console.advance.plain"));
    setText(this.backBtn, prev ? t("console.back", { phase: prev }) : t("console.back.plain"));
    this.backBtn.disabled = s.ended || pos.previous === null || s.phase === "waiting";
    const advanceWhy = advanceGuard(s);
    this.advanceBtn.disabled = pos.next === null || advanceWhy !== null;
    show(this.advanceWhy, advanceWhy !== null && lead);
    if (advanceWhy) setText(this.advanceWhy, t(advanceWhy));
    setText(this.pauseBtn, s.paused ? t("console.resume") : t("console.pause"));
    this.pauseBtn.setAttribute("aria-pressed", String(s.paused));
    show(this.phaseBox, lead);
    // Advancing into the closing phase would end the session without asking: that is what
    // "End session…" (with its confirmation) is for.
    show(this.advanceBtn, pos.next !== null && pos.next !== "closed");
    show(this.timeBox, lead);
    show(this.endBtn, lead);
    show(this.presenterBox, lead);
    const presenterWhy = presenterGuard(s);
    this.presenterSetBtn.disabled = presenterWhy !== null;
    this.presenterSelect.disabled = presenterWhy !== null;
    // After the presentation the choice is gone: the disabled button and its reason remain.
    show(this.presenterSelect, presenterWhy === null);
    show(this.presenterLabel, presenterWhy === null);
    show(this.presenterWhy, presenterWhy !== null);
    if (presenterWhy) setText(this.presenterWhy, t(presenterWhy));
    // Who has the floor, and taking it back (call_on {clear: true}).
    const holder = floorHolder(s);
    setText(
      this.floorHolderText,
      holder ? t("console.floor.holder", { name: holder.person.display_name }) : t("console.floor.nobody"),
    );
    show(this.takeBackBtn, holder !== null && moderate);
    if (holder) this.takeBackBtn.setAttribute("aria-label", t("console.floor.takeback.label", { name: holder.person.display_name }));
    // A co-leader is told what they may do here (the leader sees every control).
    const rights = consoleRights(s);
    show(this.rightsText, !rights.lead);
    if (!rights.lead) {
      const list = [rights.moderate ? t("console.rights.moderate") : "", rights.note ? t("console.rights.note") : ""].filter(Boolean);
      setText(this.rightsText, t("console.rights", { list: list.length ? list.join(this.i18n.locale === "fa" ? "؛ " : "; ") : t("console.rights.none") }));
    }
    show(this.floorBox, moderate);
    this.floorHands.setAttribute("aria-pressed", String(s.floor === "hands"));
    this.floorOpen.setAttribute("aria-pressed", String(s.floor === "open"));

    const byId = new Map(s.participants.map((p) => [p.person_id, p]));
    const presenter = s.presenter_id !== null ? byId.get(s.presenter_id) : undefined;
    setText(
      this.presenterText,
      presenter ? t("console.presenter.current", { name: presenter.display_name }) : t("console.presenter.none"),
    );

    // Members who may be chosen as presenter (present, not leaders).
    const candidates = s.participants.filter(
      (p) => p.presence !== "left" && p.role !== "leader" && p.role !== "co_leader",
    );
    const selected = this.presenterSelect.value;
    const sig = candidates.map((p) => `${p.person_id}:${p.display_name}`).join("|");
    if (this.presenterSelect.dataset["sig"] !== sig) {
      this.presenterSelect.dataset["sig"] = sig;
      this.presenterSelect.replaceChildren(
        ...candidates.map((p) => h("option", { value: p.person_id, text: p.display_name })),
      );
      if (candidates.some((p) => p.person_id === selected)) this.presenterSelect.value = selected;
    }

    // Raised hands, in the order they were raised.
    const hands = handQueue(s);
    show(this.handsEmpty, hands.length === 0);
    const choosing = s.phase === "waiting" || s.phase === "presentation";
    replaceChildrenKeepFocus(
      this.handsList,
      hands.map((p) => {
        const actions: HTMLElement[] = [];
        if (lead && choosing && s.presenter_id !== p.person_id) {
          actions.push(
            h("button", {
              type: "button",
              class: "btn btn-small",
              "data-key": `accept-${p.person_id}`,
              // The name follows for screen readers, so the accessible name starts with
              // the visible text (axe: label-content-name-mismatch).
              onclick: () => this.send({ command: "accept_hand", person_id: p.person_id }),
            }, t("console.hand.accept.short"), srOnly(` (${p.display_name})`)),
          );
        }
        if (moderate && !choosing && s.floor === "hands") {
          actions.push(
            h("button", {
              type: "button",
              class: "btn btn-small",
              "data-key": `callon-${p.person_id}`,
              "aria-label": t("console.hand.callon", { name: p.display_name }),
              text: t("console.hand.callon.short"),
              onclick: () => this.send({ command: "call_on", person_id: p.person_id }),
            }),
          );
        }
        return h("li", { "data-person": p.person_id }, h("span", { class: "hand-name with-icon" }, icon("hand"), p.display_name), ...actions);
      }),
    );

    // Roster: presence, hand, microphone.
    const present = s.participants.filter((p) => p.presence !== "left");
    setText(this.rosterHeading, t("console.roster", { n: present.length }));
    replaceChildrenKeepFocus(
      this.rosterList,
      s.participants.map((p) => {
        const bits = [t(`console.presence.${p.presence}`)];
        if (p.person_id === s.presenter_id) bits.push(t("tile.presenter"));
        if (p.hand_raised) bits.push(t("tile.hand"));
        if (p.muted_by_rule) bits.push(t("tile.mutedbyroom"));
        else if (p.self_muted) bits.push(t("tile.muted"));
        return h(
          "li",
          { class: `presence-${p.presence}`, "data-person": p.person_id },
          h("span", { class: "roster-name", text: p.display_name }),
          h("span", { class: "roster-state", text: bits.join(" · ") }),
        );
      }),
    );
    show(this.noteBox, canNote(s));
    this.updateHandOver(s, lead);
  }

  private updateHandOver(s: Snapshot, lead: boolean): void {
    const t = this.i18n.t.bind(this.i18n);
    const targets = handOverTargets(s);
    show(this.handBox, lead && !s.ended);
    const none = targets.length === 0;
    this.handBtn.disabled = none;
    this.handSelect.disabled = none;
    show(this.handSelect, !none);
    show(this.handWhy, none);
    if (none) setText(this.handWhy, t(s.stand_in ? "formats.handover.noleader" : "formats.handover.none"));
    const selected = this.handSelect.value;
    const sig = targets.map((x) => `${x.person_id}:${x.back ? 1 : 0}:${x.display_name}`).join("|");
    if (this.handSelect.dataset["sig"] !== sig) {
      this.handSelect.dataset["sig"] = sig;
      this.handSelect.replaceChildren(
        ...targets.map((x) =>
          h("option", {
            value: x.person_id,
            text: x.back ? t("formats.handover.back", { name: x.display_name }) : x.display_name,
          }),
        ),
      );
      if (targets.some((x) => x.person_id === selected)) this.handSelect.value = selected;
    }
  }

  private handOver(): void {
    const id = this.handSelect.value;
    if (id) void this.send({ command: "hand_over", person_id: id });
  }

  private async send(cmd: LeaderCommand): Promise<void> {
    try {
      await this.client.leaderCommand(cmd);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      this.feedback.toast(errorText(this.i18n, err.code ?? "error", err.message), "error");
    }
  }

  private togglePause(): void {
    void this.send({ command: this.snap?.paused ? "resume" : "pause" });
  }

  private choosePresenter(): void {
    const id = this.presenterSelect.value;
    if (id) void this.send({ command: "set_presenter", person_id: id });
  }

  private async end(): Promise<void> {
    const t = this.i18n.t.bind(this.i18n);
    const ok = await confirmDialog({
      title: t("console.end.title"),
      body: t("console.end.body"),
      confirm: t("console.end.confirm"),
      cancel: t("console.cancel"),
      danger: true,
    });
    if (ok) await this.send({ command: "end" });
  }

  private async saveNote(): Promise<void> {
    try {
      await this.client.sendNote(this.noteArea.value);
      this.noteDirty = false;
      setText(this.noteStatus, this.i18n.t("console.note.saved"));
    } catch (e) {
      const err = e as { code?: string; message?: string };
      setText(this.noteStatus, errorText(this.i18n, err.code ?? "error", err.message));
    }
  }
}
