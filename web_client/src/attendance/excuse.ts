// "I can't come to this session": one click in the session list (an optional reason for the
// leaders only), and one click to take it back.

import type { I18n } from "../i18n";
import { CircleError } from "../protocol/types";
import { h } from "../ui/dom";
import { attendanceApi } from "./api";
import { msg } from "./messages";

/** ``initially`` null: ask the server whether I already said so (the wait screen). */
export function excuseToggle(i18n: I18n, sessionId: string, initially: boolean | null): HTMLElement {
  const t = (k: Parameters<typeof msg>[1]): string => msg(i18n.locale, k);
  let said = initially ?? false;
  const note = h("span", { class: "muted small", role: "status" });
  const button = h("button", { type: "button", class: "btn session-excuse", "data-testid": `excuse-${sessionId}` });
  const paint = (): void => {
    button.textContent = said ? t("canCome") : t("cantCome");
    note.textContent = said ? t("cantComeDone") : "";
  };
  button.addEventListener("click", () => {
    const reason = said ? null : window.prompt(t("reasonPrompt"), "");
    if (!said && reason === null) return; // the prompt was dismissed
    const call = said ? attendanceApi.withdraw(sessionId) : attendanceApi.excuse(sessionId, reason?.trim() || null);
    button.disabled = true;
    call.then(
      () => {
        said = !said;
        paint();
      },
      (e: unknown) => {
        note.textContent = e instanceof CircleError ? e.message : String(e);
      },
    ).finally(() => (button.disabled = false));
  });
  paint();
  if (initially === null) {
    attendanceApi.myExcuses().then(
      (list) => {
        said = list.some((x) => String(x.session_id) === String(sessionId)); // a number on the wire
        paint();
      },
      () => undefined,
    );
  }
  return h("span", { class: "excuse" }, button, note);
}
