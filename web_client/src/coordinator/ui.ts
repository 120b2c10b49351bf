// Shared pieces of the coordinator pages: a confirmation that names who will be told, the
// message after each action (with an undo where the server offers one), a searchable
// time-zone picker.

import type { I18n } from "../i18n";
import { h } from "../ui/dom";

export interface Ask {
  title: string;
  /** Who will be told, by name. */
  notify: string[];
  confirm: string;
  /** An optional note or reason sent with the notice. */
  noteLabel?: string;
}

/** A modal confirmation; resolves to the note typed (possibly "") or null when cancelled. */
export function confirmAction(i18n: I18n, ask: Ask): Promise<string | null> {
  return new Promise((resolve) => {
    const note = ask.noteLabel ? h("textarea", { name: "note", maxlength: 500, rows: 2 }) : null;
    const ok = h("button", { type: "button", class: "btn btn-danger", "data-testid": "confirm-yes", text: ask.confirm });
    const no = h("button", { type: "button", class: "btn", "data-testid": "confirm-no", text: i18n.t("coord.confirm.keep") });
    const who = ask.notify.length
      ? h("div", {}, h("p", { id: "confirm-who", text: i18n.t("coord.confirm.notify", { n: ask.notify.length }) }),
        // It may scroll (a whole group): focusable, so keyboards can scroll it too.
        h("ul", { class: "notify-list", tabindex: 0, "aria-labelledby": "confirm-who" }, ...ask.notify.map((n) => h("li", {}, h("bdi", { text: n })))))
      : h("p", { text: i18n.t("coord.confirm.nobody") });
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "confirm-title", "data-testid": "confirm-dialog" },
      h("h2", { id: "confirm-title", text: ask.title }), who,
      note && ask.noteLabel ? h("label", {}, ask.noteLabel, note) : null,
      h("div", { class: "dialog-actions" }, no, ok));
    const done = (v: string | null): void => { dialog.close(); dialog.remove(); resolve(v); };
    ok.addEventListener("click", () => done(note ? note.value.trim() : ""));
    no.addEventListener("click", () => done(null));
    dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); done(null); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

export interface FlashMessage { text: string; undo?: { label: string; run: () => Promise<void> }; error?: boolean }

/** The message after an action; it outlives the page's re-render (kept by the app). */
export function flashBox(msg: FlashMessage | null, clear: () => void): HTMLElement {
  const box = h("div", { class: msg?.error ? "flash flash-error" : "flash", role: msg?.error ? "alert" : "status", "data-testid": "flash" });
  if (!msg) { box.hidden = true; return box; }
  box.append(h("span", { text: msg.text }));
  if (msg.undo) {
    const undo = msg.undo;
    box.append(h("button", { type: "button", class: "btn", "data-testid": "undo", text: undo.label, onclick: () => { clear(); void undo.run(); } }));
  }
  return box;
}

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const list = intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
  return list.includes("UTC") ? list : ["UTC", ...list];
}

/** A searchable time-zone field (type to filter; the list holds every IANA zone). */
export function zonePicker(i18n: I18n, value: string, id: string): { el: HTMLElement; input: HTMLInputElement } {
  const listId = `${id}-zones`;
  const input = h("input", { id, name: "timezone", list: listId, value, dir: "ltr", autocomplete: "off", spellcheck: "false", required: true });
  const list = h("datalist", { id: listId }, ...zones().map((z) => h("option", { value: z })));
  const check = (): void => input.setCustomValidity(zones().includes(input.value) ? "" : i18n.t("coord.zone.unknown"));
  input.addEventListener("input", check);
  check();
  return { el: h("span", { class: "zone-picker" }, input, list), input };
}
