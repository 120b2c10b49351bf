// Breakout groups in the room (the workshop's small-group case work, docs/workshop.md).
// Leaders: split the room automatically or as assigned, move someone, bring everyone back.
// Everyone: which group you are in, who is with you and the time left; back in the main room.
// The server decides everything (who is in which group, who hears whom); this only shows it
// and sends the leader's requests.

import type { I18n } from "../i18n";
import { splitDuration } from "../protocol/clock";
import type { RoomClient } from "../protocol/room-client";
import type { BreakoutsView, Participant, Snapshot } from "../protocol/types";
import { h, setText, show } from "./dom";
import type { Feedback } from "./feedback";
import "./breakouts.css";

const SIZES = [2, 3, 4] as const; // server: protocols/workshop.py, breakout_group_min/max
const DEFAULT_MINUTES = 15; // server: breakout_default_minutes

function canLead(s: Snapshot): boolean {
  return s.you.capabilities.includes("lead");
}

function present(s: Snapshot): Participant[] {
  return s.participants.filter((p) => p.presence === "present");
}

export class BreakoutPanel {
  readonly el: HTMLElement;
  private readonly status: HTMLElement;
  private readonly left: HTMLElement;
  private readonly error: HTMLElement;
  private readonly leader: HTMLElement;
  private readonly sizeSel: HTMLSelectElement;
  private readonly minutesIn: HTMLInputElement;
  private readonly assignList: HTMLElement;
  private readonly closeBtn: HTMLButtonElement;
  private readonly manualBtn: HTMLButtonElement;
  private readonly setup: HTMLElement;
  private view: BreakoutsView | null = null;
  private wasSplit: boolean | null = null;
  private assignKey = "";

  constructor(
    private readonly i18n: I18n,
    private readonly client: RoomClient,
    private readonly feedback: Feedback,
  ) {
    const t = i18n.t.bind(i18n);
    this.status = h("p", { class: "breakout-status", "data-testid": "breakout-status" });
    this.left = h("p", { class: "breakout-left", role: "timer", "aria-live": "off", "data-testid": "breakout-left" });
    this.error = h("p", { class: "breakout-error", role: "alert", hidden: true, "data-testid": "breakout-error" });
    this.sizeSel = h(
      "select",
      { "data-testid": "breakout-size" },
      ...SIZES.map((n) => h("option", { value: String(n), selected: n === 3 }, i18n.number(n))),
    );
    this.minutesIn = h("input", {
      type: "number",
      min: "1",
      max: "60",
      value: String(DEFAULT_MINUTES),
      "data-testid": "breakout-minutes",
    });
    const autoBtn = h("button", {
      type: "button",
      class: "btn btn-primary",
      "data-testid": "breakout-auto",
      text: t("breakout.auto"),
      onclick: () => void this.send("breakout.open", { size: Number(this.sizeSel.value), minutes: this.minutes() }),
    });
    this.manualBtn = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "breakout-manual",
      text: t("breakout.manual"),
      onclick: () => void this.send("breakout.open", { groups: this.assigned(), minutes: this.minutes() }),
    });
    this.assignList = h("ul", { class: "breakout-assign", "data-testid": "breakout-assign" });
    this.setup = h(
      "div",
      { class: "breakout-setup" },
      h("label", {}, t("breakout.size"), " ", this.sizeSel),
      h("label", {}, t("breakout.minutes"), " ", this.minutesIn),
      autoBtn,
    );
    this.closeBtn = h("button", {
      type: "button",
      class: "btn",
      "data-testid": "breakout-close",
      text: t("breakout.close"),
      onclick: () => void this.send("breakout.close", {}),
    });
    // The same list assigns people before the split and moves them during it.
    this.leader = h("div", { class: "breakout-leader" }, this.setup, this.assignList, this.manualBtn, this.closeBtn);
    this.el = h(
      "section",
      { class: "breakouts", hidden: true, "aria-label": t("breakout.title"), "data-testid": "breakouts" },
      h("h2", { class: "breakout-title" }, t("breakout.title")),
      this.status,
      this.left,
      this.error,
      this.leader,
    );
  }

  render(s: Snapshot): void {
    const t = this.i18n.t.bind(this.i18n);
    const split = s.breakouts ?? null;
    this.view = split;
    const lead = canLead(s);
    show(this.el, split !== null || (lead && s.breakouts_allowed === true));
    this.el.dataset["split"] = split ? "yes" : "no";
    if (this.wasSplit !== null && this.wasSplit !== (split !== null)) {
      this.feedback.announce(split ? t("breakout.opened") : t("breakout.back"));
      if (!split) this.feedback.toast(t("breakout.back"));
    }
    this.wasSplit = split !== null;
    show(this.leader, lead);
    show(this.setup, lead && !split && s.breakouts_allowed === true);
    show(this.manualBtn, lead && !split && s.breakouts_allowed === true);
    show(this.closeBtn, lead && split !== null);
    if (split) setText(this.status, this.whereAmI(s, split));
    else setText(this.status, "");
    show(this.left, split !== null);
    if (lead) this.renderAssign(s, split);
    this.tick(this.client.clock.now(Date.now()));
  }

  /** The time left in the groups, at `nowMs` (the server's clock). */
  tick(nowMs: number): void {
    if (!this.view) return;
    const ms = Math.max(0, this.view.ends_at_ms - nowMs);
    setText(this.left, this.i18n.t("breakout.left", { time: this.i18n.duration(splitDuration(ms, true)) }));
  }

  private whereAmI(s: Snapshot, split: BreakoutsView): string {
    const t = this.i18n.t.bind(this.i18n);
    const me = s.you.person_id;
    const index = split.groups.findIndex((g) => g.includes(me));
    if (index < 0) return t("breakout.you.main");
    const names = split.groups[index]!
      .filter((id) => id !== me)
      .map((id) => s.participants.find((p) => p.person_id === id)?.display_name ?? id);
    const n = this.i18n.number(index + 1);
    return names.length > 0 ? t("breakout.you", { n, names: names.join(", ") }) : t("breakout.you.alone", { n });
  }

  /** One select per person present: before the split, their group; during it, a move. */
  private renderAssign(s: Snapshot, split: BreakoutsView | null): void {
    const people = present(s);
    const groups = split ? split.groups.length : Math.max(1, Math.floor(people.length / 2));
    const key = JSON.stringify([people.map((p) => p.person_id), split?.groups ?? null, groups]);
    if (key === this.assignKey) return;
    this.assignKey = key;
    const t = this.i18n.t.bind(this.i18n);
    const items = people.map((p) => {
      const current = split ? split.groups.findIndex((g) => g.includes(p.person_id)) : -1;
      const sel = h(
        "select",
        {
          "data-person": p.person_id,
          "aria-label": split ? t("breakout.move", { name: p.display_name }) : t("breakout.assign", { name: p.display_name }),
          onchange: split
            ? (ev: Event) => {
                const v = (ev.target as HTMLSelectElement).value;
                void this.send("breakout.move", { person_id: p.person_id, group: v === "" ? null : Number(v) });
              }
            : null,
        },
        h("option", { value: "", selected: current < 0 }, t("breakout.none")),
        ...Array.from({ length: groups }, (_, i) =>
          h("option", { value: String(i), selected: current === i }, t("breakout.group", { n: this.i18n.number(i + 1) })),
        ),
      );
      return h("li", {}, h("span", {}, p.display_name), " ", sel);
    });
    this.assignList.replaceChildren(...items);
  }

  private assigned(): string[][] {
    const groups: string[][] = [];
    for (const sel of Array.from(this.assignList.querySelectorAll("select"))) {
      if (sel.value === "") continue;
      const i = Number(sel.value);
      while (groups.length <= i) groups.push([]);
      groups[i]!.push(sel.dataset["person"] ?? "");
    }
    return groups.filter((g) => g.length > 0);
  }

  private minutes(): number {
    const n = Number(this.minutesIn.value);
    return Number.isFinite(n) ? Math.round(n) : DEFAULT_MINUTES;
  }

  private async send(event: string, payload: Record<string, unknown>): Promise<void> {
    show(this.error, false);
    try {
      await this.client.command(event, payload);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      setText(this.error, this.i18n.t("breakout.refused", { reason }));
      show(this.error, true);
    }
  }
}
