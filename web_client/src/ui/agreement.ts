// The group agreement as the member reads it: worded from the catalogues in their language,
// per protocol and role (leaders see leader wording), with the series' number of sessions in
// the right plural. The facts (version, planned sessions, accepted) come with the session
// (/api/me/sessions); the server's own English text is the fallback for a session without them.

import type { I18n } from "../i18n";
import { agreementParagraphs } from "../protocol/room-view";
import type { SessionSummary } from "../protocol/types";
import { h } from "./dom";

/** The agreement's paragraphs for `session`, or the server's text split into paragraphs. */
export function agreementBody(i18n: I18n, session: SessionSummary | null, serverText = ""): HTMLElement {
  const facts = session?.agreement ?? null;
  const paras =
    session && facts
      ? agreementParagraphs(session.protocol, session.role, facts.planned_sessions, i18n.locale).map(
          (p) => i18n.maybe(p.key, p.params) ?? "",
        )
      : serverText.split(/\n+/);
  return h(
    "div",
    { class: "agreement-text", "data-testid": "agreement-text" },
    ...paras.filter((p) => p.trim() !== "").map((p) => h("p", { text: p })),
  );
}
