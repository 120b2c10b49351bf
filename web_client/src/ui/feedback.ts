// Announcements for screen readers, toasts, and the confirmation dialog.

import type { I18n } from "../i18n";
import { h, setText } from "./dom";

export class Feedback {
  readonly politeRegion: HTMLElement;
  readonly toastRegion: HTMLElement;

  constructor(root: HTMLElement) {
    this.politeRegion = h("div", { class: "sr-only", "aria-live": "polite", id: "announcer" });
    this.toastRegion = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    root.append(this.politeRegion, this.toastRegion);
  }

  announce(text: string): void {
    // Clearing first makes repeated identical messages be read again.
    setText(this.politeRegion, "");
    window.setTimeout(() => setText(this.politeRegion, text), 50);
  }

  toast(text: string, kind: "info" | "error" = "info"): void {
    const el = h("p", { class: `toast toast-${kind}` }, text);
    this.toastRegion.append(el);
    window.setTimeout(() => el.remove(), 6000);
  }
}

export interface ConfirmText {
  title: string;
  body: string;
  confirm: string;
  cancel: string;
  danger?: boolean;
}

/** A modal confirmation; the safe choice (cancel) has the focus, Escape cancels. */
export function confirmDialog(text: ConfirmText): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = `dlg-title-${Date.now()}`;
    const cancel = h("button", { type: "button", class: "btn", text: text.cancel, value: "cancel" });
    const ok = h("button", {
      type: "button",
      class: text.danger ? "btn btn-danger" : "btn btn-primary",
      text: text.confirm,
      value: "confirm",
    });
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId, text: text.title }),
      h("p", { text: text.body }),
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    const finish = (result: boolean): void => {
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(result);
    };
    cancel.addEventListener("click", () => finish(false));
    ok.addEventListener("click", () => finish(true));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

export function errorText(i18n: I18n, code: string, fallback?: string): string {
  const key = `error.${code}`;
  if (i18n.has(key)) return i18n.t(key);
  return fallback && fallback.length > 0 ? fallback : i18n.t("error.generic");
}
