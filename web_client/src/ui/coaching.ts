// On the member's session list: the coaching call offered after a workshop (docs/workshop.md).
// The call is optional: the person sees who will coach them and when (once booked), and can
// say "no, thank you" with one click. Loaded after the list is shown; nothing if no offers.

import type { I18n } from "../i18n";
import { Api, readCookie } from "../protocol/api";
import { CircleError } from "../protocol/types";
import { h } from "./dom";

interface Offer {
  id: number;
  status: "offered" | "declined" | "booked";
  coach: string | null;
  call_minutes: number;
  starts_at: string | null;
}

export function coachingOffers(i18n: I18n): HTMLElement {
  const t = i18n.t.bind(i18n);
  const list = h("ul", { class: "coaching-offers" });
  const el = h("section", { hidden: true, "data-testid": "coaching", "aria-label": t("coaching.title") }, h("h2", { text: t("coaching.title") }), list);
  const api = new Api(fetch.bind(window), () => readCookie(document.cookie, "circle_csrf"));
  const row = (o: Offer): HTMLElement => {
    const coach = o.coach ?? "";
    const minutes = i18n.number(o.call_minutes);
    let text: string;
    if (o.status === "declined") text = t("coaching.declined");
    else if (o.status === "booked" && o.starts_at) {
      const at = Date.parse(o.starts_at);
      text = t("coaching.booked", { coach, minutes, date: i18n.date(at), time: i18n.time(at) });
    } else text = t("coaching.offered", { coach, minutes });
    const note = h("span", { class: "muted small", role: "status" });
    const decline =
      o.status === "declined"
        ? null
        : h("button", {
            type: "button",
            class: "btn",
            "data-testid": `coaching-decline-${o.id}`,
            text: t("coaching.decline"),
            onclick: (ev: Event) => {
              const button = ev.currentTarget as HTMLButtonElement;
              button.disabled = true;
              api.request<Offer>("POST", `/api/me/coaching/${o.id}/decline`, {}).then(
                (done) => item.replaceWith(row(done)),
                (e: unknown) => {
                  note.textContent = e instanceof CircleError ? e.message : String(e);
                  button.disabled = false;
                },
              );
            },
          });
    const item = h("li", { "data-status": o.status }, h("span", { text }), " ", decline, note);
    return item;
  };
  void api.request<Offer[]>("GET", "/api/me/coaching").then(
    (offers) => {
      list.replaceChildren(...offers.map(row));
      el.hidden = offers.length === 0;
    },
    () => undefined,
  );
  return el;
}
