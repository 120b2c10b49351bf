// "My questionnaires and scores": the member's forms (open ones first), their own scores over
// time with the instrument's bands, questionnaire e-mail opt-out and research consent; for
// leaders, the safety alerts of their groups.

import type { Me } from "../protocol/types";
import { h, setText } from "../ui/dom";
import type { scoresChart } from "./charts";
import { type PageContext, intlTag } from "./context";
import { type Alert, type FormSummary, type InstrumentScores, bandOf } from "./forms-api";

const LEAD = new Set(["leader", "co_leader"]);

export async function renderMine(ctx: PageContext, me: Me): Promise<void> {
  const { t } = ctx;
  // The charting library is loaded only here, not with the form page.
  const [charts, forms, scores, mail, consent] = await Promise.all([
    import("./charts"),
    ctx.forms.mine(),
    ctx.forms.scores(),
    ctx.forms.mailPref(),
    ctx.forms.consent(),
  ]);
  const led = me.groups.filter((g) => LEAD.has(g.role));
  const alertSections = await Promise.all(led.map((g) => alertsSection(ctx, Number(g.id), g.name)));
  ctx.content.replaceChildren(
    h(
      "div",
      { class: "q-mine", "data-testid": "mine" },
      h("h1", { tabindex: "-1", id: "page-title" }, t("page.mine")),
      ...alertSections,
      h("section", { "aria-labelledby": "forms-h" }, h("h2", { id: "forms-h" }, t("page.title")), formsList(ctx, forms)),
      h("section", { "aria-labelledby": "scores-h" }, h("h2", { id: "scores-h" }, t("scores.title")), ...scoresBlock(ctx, scores, charts.scoresChart)),
      settings(ctx, mail.opted_out, consent.research),
      h("p", {}, h("a", { href: "/app/?list=1" }, t("page.session_list"))),
    ),
  );
}

function formsList(ctx: PageContext, forms: FormSummary[]): HTMLElement {
  const { t } = ctx;
  if (forms.length === 0) return h("p", {}, t("mine.none"));
  return h(
    "ul",
    { class: "q-list" },
    ...forms.map((f) =>
      h(
        "li",
        { "data-testid": "form-row", "data-state": f.state },
        h("a", { href: `#f=${f.id}` }, `${t(`timepoint.${f.timepoint}`)}: ${f.series_title}`),
        " ",
        h("span", { class: "q-badge" }, t(`state.${f.state}`)),
        h(
          "span",
          { class: "q-sub" },
          ` · ${t("form.progress", { answered: f.answered, required: f.required })}`,
          f.state === "open" && f.closes_at ? ` · ${t("mine.until", { when: ctx.when(f.closes_at) })}` : "",
        ),
      ),
    ),
  );
}

function scoresBlock(ctx: PageContext, scores: InstrumentScores[], chart: typeof scoresChart): HTMLElement[] {
  const { t } = ctx;
  const shown = scores.filter((s) => s.points.some((p) => p.total !== null));
  if (shown.length === 0) return [h("p", {}, t("scores.none"))];
  const width = Math.min(640, Math.max(280, ctx.content.clientWidth - 32));
  return shown.map((s) => {
    const label = t("scores.chart", { title: s.title });
    const figure = h("figure", { class: "q-chart", "data-testid": `scores-${s.instrument}`, tabindex: "0" });
    figure.append(chart(s, label, width, intlTag(ctx.locale)));
    const rows = s.points
      .filter((p) => p.total !== null)
      .map((p) =>
        h(
          "tr",
          {},
          h("td", {}, p.submitted_at ? ctx.when(p.submitted_at) : ""),
          h("td", {}, t(`timepoint.${p.timepoint}`)),
          h("td", {}, new Intl.NumberFormat(ctx.locale === "fa" ? "fa-IR" : ctx.locale).format(p.total as number)),
          h("td", {}, bandOf(s.bands, p.total as number)?.label ?? ""),
        ),
      );
    return h(
      "section",
      { class: "q-scores", "aria-label": s.title },
      h("h3", { dir: "auto" }, s.title),
      figure,
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, label),
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, t("scores.when")), h("th", { scope: "col" }, t("page.title")), h("th", { scope: "col" }, t("scores.score")), h("th", { scope: "col" }, t("scores.band"))),
        ),
        h("tbody", {}, ...rows),
      ),
      s.bands_source ? h("p", { class: "q-sub" }, t("scores.bands_source", { source: s.bands_source })) : null,
    );
  });
}

function settings(ctx: PageContext, optedOut: boolean, research: boolean): HTMLElement {
  const { t } = ctx;
  const mailStatus = h("span", { class: "q-sub", "aria-live": "polite" });
  const consentStatus = h("span", { class: "q-sub", "aria-live": "polite" });
  const mail = h("input", { type: "checkbox", id: "mail-optout", checked: optedOut });
  mail.addEventListener("change", () => {
    void ctx.forms.setMailPref(mail.checked).then(
      () => setText(mailStatus, t("settings.saved")),
      (e: unknown) => setText(mailStatus, e instanceof Error ? e.message : t("error.generic")),
    );
  });
  const consent = h("input", { type: "checkbox", id: "research-consent", checked: research, "aria-describedby": "consent-help" });
  consent.addEventListener("change", () => {
    void ctx.forms.setConsent(consent.checked).then(
      () => setText(consentStatus, t("settings.saved")),
      (e: unknown) => setText(consentStatus, e instanceof Error ? e.message : t("error.generic")),
    );
  });
  return h(
    "section",
    { "aria-labelledby": "settings-h" },
    h("h2", { id: "settings-h" }, t("consent.title")),
    h("p", { id: "consent-help" }, t("consent.help")),
    h("p", { class: "q-check" }, consent, h("label", { for: "research-consent" }, t("consent.checkbox")), " ", consentStatus),
    h("h2", {}, t("mail.title")),
    h("p", { class: "q-check" }, mail, h("label", { for: "mail-optout" }, t("mail.optout")), " ", mailStatus),
  );
}

export async function alertsSection(ctx: PageContext, groupId: number, groupName: string): Promise<HTMLElement> {
  const { t } = ctx;
  const alerts = await ctx.forms.alerts(groupId);
  const headingId = `alerts-${groupId}`;
  return h(
    "section",
    { class: "q-alerts", "aria-labelledby": headingId, "data-testid": "alerts" },
    h("h2", { id: headingId }, `${t("alerts.title")}: ${groupName}`),
    alerts.length === 0 ? h("p", {}, t("alerts.none")) : h("p", {}, t("alerts.intro")),
    alerts.length === 0 ? null : h("ul", {}, ...alerts.map((a) => alertRow(ctx, a))),
  );
}

function alertRow(ctx: PageContext, a: Alert): HTMLElement {
  const { t } = ctx;
  const state = h("span", { class: "q-badge" }, a.acknowledged_at ? t("alerts.handled") : "");
  const button = h("button", { type: "button", class: "q-secondary" }, t("alerts.ack"));
  button.addEventListener("click", () => {
    button.disabled = true;
    void ctx.forms.acknowledge(a.id).then(
      () => {
        setText(state, t("alerts.handled"));
        button.remove();
      },
      () => {
        button.disabled = false;
      },
    );
  });
  return h(
    "li",
    { "data-testid": "alert-row" },
    t("alerts.item", { name: a.person_name, instrument: a.instrument, when: ctx.when(a.created_at) }),
    " ",
    state,
    a.acknowledged_at ? null : button,
  );
}
