// On the member's session list: one link per open questionnaire (one click to answer it) and
// a link to "my questionnaires and scores". Loaded after the list is shown; a failure (or no
// forms) leaves just the link. Questionnaires never stand between a member and a session.

import type { I18n } from "../i18n";
import { Api, readCookie } from "../protocol/api";
import { FormsApi } from "../questionnaires/forms-api";
import { h } from "./dom";

export const QUESTIONNAIRES_PAGE = "/app/questionnaires.html";

export function questionnaireLinks(i18n: I18n): HTMLElement {
  const t = i18n.t.bind(i18n);
  const list = h("ul", { class: "questionnaire-links", "data-testid": "questionnaire-links" });
  const el = h("nav", { "aria-label": t("sessions.questionnaires") }, list, h("p", {}, h("a", { href: QUESTIONNAIRES_PAGE, text: t("sessions.questionnaires") })));
  const forms = new FormsApi(new Api(fetch.bind(window), () => readCookie(document.cookie, "circle_csrf")), () => null);
  void forms.mine().then(
    (forms) => {
      for (const f of forms.filter((x) => x.state === "open")) {
        const title = `${f.series_title}`;
        const progress = `${i18n.number(f.answered)}/${i18n.number(f.required)}`;
        list.append(h("li", {}, h("a", { href: `${QUESTIONNAIRES_PAGE}#f=${f.id}`, text: t("sessions.questionnaire_open", { title, progress }) })));
      }
    },
    () => undefined,
  );
  return el;
}
