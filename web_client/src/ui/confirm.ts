// "I will take part": one line per upcoming series with its state and one button. The state
// lives in SeriesConfirmations (protocol); this only renders it.

import type { I18n } from "../i18n";
import type { ConfirmState, SeriesConfirmations, SeriesEntry } from "../protocol/confirm";
import { h, setText, show } from "./dom";
import { errorText } from "./feedback";

export class ConfirmPanel {
  readonly el: HTMLElement;
  private readonly off: () => void;
  private readonly rows = new Map<string, { status: HTMLElement; button: HTMLButtonElement; entry: SeriesEntry }>();

  constructor(
    private readonly i18n: I18n,
    private readonly confirmations: SeriesConfirmations,
    entries: readonly SeriesEntry[],
  ) {
    const t = i18n.t.bind(i18n);
    const items = entries.map((entry) => {
      const status = h("p", { role: "status", class: "confirm-status", "data-testid": "confirm-status" });
      const button = h("button", {
        type: "button",
        class: "btn btn-primary",
        text: t("confirm.button"),
        "aria-label": t("confirm.button.label", { group: entry.group_name }),
        onclick: () => void this.confirmations.confirm(entry.series_id),
      });
      this.rows.set(entry.series_id, { status, button, entry });
      return h(
        "li",
        { "data-series": entry.series_id },
        h("strong", { text: t("confirm.series", { group: entry.group_name, date: i18n.date(Date.parse(entry.next_starts_at)) }) }),
        status,
        button,
      );
    });
    this.el = h(
      "section",
      { class: "confirm-series", "data-testid": "confirm-series", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title", text: t("confirm.title") }),
      h("ul", { class: "session-list" }, ...items),
    );
    show(this.el, entries.length > 0);
    for (const id of this.rows.keys()) this.render(id, confirmations.state(id));
    this.off = confirmations.events.on("change", (e) => this.render(e.seriesId, e.state));
  }

  private render(seriesId: string, state: ConfirmState): void {
    const row = this.rows.get(seriesId);
    if (!row) return;
    const t = this.i18n.t.bind(this.i18n);
    row.button.dataset["state"] = state.kind;
    row.status.parentElement?.setAttribute("data-state", state.kind);
    switch (state.kind) {
      case "unknown":
        setText(row.status, t("confirm.unknown"));
        break;
      case "confirming":
        setText(row.status, t("confirm.confirming"));
        break;
      case "confirmed":
        setText(row.status, t(state.already ? "confirm.already" : "confirm.done"));
        break;
      case "failed":
        setText(row.status, errorText(this.i18n, state.code, state.message));
        break;
    }
    row.button.disabled = state.kind === "confirming";
    if (state.kind === "confirmed" && document.activeElement === row.button) {
      // The button goes away: keep keyboard focus on the answer instead of losing it.
      row.status.tabIndex = -1;
      row.status.focus();
    }
    show(row.button, state.kind !== "confirmed");
  }

  destroy(): void {
    this.off();
  }
}
