// The coordinator's outcomes page (/app/outcomes.html): choose a series, group or organisation,
// read the server's report (GET /api/outcomes, pseudonymous), and see it as a paper's table and
// three plots drawn with Observable Plot: paired pre/post lines per pseudonymous member, the
// distribution per timepoint, completion per instrument and timepoint. English, like the other
// coordinator pages.

import "../questionnaires/questionnaires.css";
import * as Plot from "@observablehq/plot";
import { asImage } from "../questionnaires/charts";
import { h } from "../ui/dom";
import {
  type Report,
  type Scope,
  TIMEPOINTS,
  distribution,
  fmt,
  measures,
  pValue,
  pairedLines,
  reportQuery,
} from "./report";

const root = document.getElementById("outcomes-root") as HTMLElement;
const result = h("div", { id: "outcomes-result", "aria-live": "polite" });

async function load(scope: Scope): Promise<void> {
  result.replaceChildren(h("p", {}, "Loading…"));
  const res = await fetch(`/api/outcomes?${reportQuery(scope, { points: "true" })}`, { credentials: "same-origin" });
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = (data as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`;
    result.replaceChildren(h("p", { role: "alert", "data-testid": "outcomes-error" }, msg));
    return;
  }
  render(scope, data as Report);
}

function table(report: Report): HTMLElement {
  const head = ["Instrument", "Score", "Comparison", "n pairs", "Before (mean ± SD)", "After (mean ± SD)", "Change [95% CI]", "Wilcoxon p", "t-test p", "d_z"];
  const caption = `Before / after: ${report.scope.label}`;
  return h(
    "div",
    { class: "q-scroll", tabindex: "0", role: "region", "aria-label": caption },
    h(
    "table",
    { class: "q-report", "data-testid": "outcomes-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { scope: "col" }, x)))),
    h(
      "tbody",
      {},
      ...report.rows.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, r.instrument),
          h("td", {}, r.score),
          h("td", {}, r.comparison),
          h("td", {}, String(r.n_pairs)),
          h("td", {}, `${fmt(r.pre_mean)} ± ${fmt(r.pre_sd)}`),
          h("td", {}, `${fmt(r.post_mean)} ± ${fmt(r.post_sd)}`),
          h("td", {}, `${fmt(r.mean_change)} [${fmt(r.ci95_low)}, ${fmt(r.ci95_high)}]`),
          h("td", {}, pValue(r.p_exact ?? r.p_asymptotic)),
          h("td", {}, pValue(r.p_t)),
          h("td", {}, fmt(r.d_z)),
        ),
      ),
    ),
    ),
  );
}

function figure(label: string, chart: SVGSVGElement | HTMLElement, testid: string): HTMLElement {
  return h("figure", { class: "q-chart", "data-testid": testid, tabindex: "0" }, asImage(chart, label), h("figcaption", {}, label));
}

function render(scope: Scope, report: Report): void {
  const points = report.points ?? [];
  const width = Math.min(720, Math.max(300, root.clientWidth - 32));
  const blocks: HTMLElement[] = [];
  for (const m of measures(points).filter((x) => x.score === "total")) {
    const lines = pairedLines(points, m.instrument, m.score);
    const dist = distribution(points, m.instrument, m.score);
    const pairedLabel = `${m.instrument} ${m.score}: paired pre and post scores, one line per pseudonymous member (${lines.length / 2} pairs)`;
    const distLabel = `${m.instrument} ${m.score}: distribution of scores per timepoint`;
    blocks.push(
      h(
        "section",
        { "aria-label": m.instrument },
        h("h2", {}, `${m.instrument} (${m.score})`),
        figure(
          pairedLabel,
          Plot.plot({
            width,
            height: 280,
            ariaLabel: pairedLabel,
            x: { domain: ["pre", "post"], label: null, padding: 0.3 },
            y: { label: "score", grid: true },
            marks: [
              Plot.line(lines, { x: "timepoint", y: "value", z: "code", stroke: "#1b5a87", strokeOpacity: 0.5 }),
              Plot.dot(lines, { x: "timepoint", y: "value", fill: "#1b5a87", r: 3, title: "code" }),
            ],
          }),
          `paired-${m.instrument}`,
        ),
        figure(
          distLabel,
          Plot.plot({
            width,
            height: 260,
            ariaLabel: distLabel,
            x: { domain: [...TIMEPOINTS], label: null },
            y: { label: "score", grid: true },
            marks: [
              Plot.boxY(dist, { x: "timepoint", y: "value", fill: "#c9dbe8", stroke: "#1b5a87" }),
              Plot.dot(dist, { x: "timepoint", y: "value", fill: "#1b5a87", r: 2.5, fillOpacity: 0.6 }),
            ],
          }),
          `dist-${m.instrument}`,
        ),
      ),
    );
  }
  const completionLabel = "Completion: share of members who submitted each instrument at each timepoint";
  const completion = report.completion.map((c) => ({ ...c, rate: c.rate ?? 0, label: `${c.instrument} ${c.timepoint}` }));
  blocks.push(
    h(
      "section",
      { "aria-label": "completion" },
      h("h2", {}, "Completion"),
      completion.length === 0
        ? h("p", {}, "No questionnaires yet.")
        : figure(
            completionLabel,
            Plot.plot({
              width,
              height: 40 + 28 * completion.length,
              marginLeft: 140,
              ariaLabel: completionLabel,
              x: { domain: [0, 100], label: "submitted (%)", percent: true },
              y: { label: null },
              marks: [Plot.barX(completion, { y: "label", x: "rate", fill: "#1b5a87" }), Plot.ruleX([0])],
            }),
            "completion",
          ),
      h(
        "ul",
        {},
        ...report.completion.map((c) => h("li", {}, `${c.instrument} ${c.timepoint}: ${c.submitted} of ${c.participants}`)),
      ),
    ),
  );
  const q = (format: string): string => `/api/outcomes?${reportQuery(scope, { format })}`;
  result.replaceChildren(
    h("p", {}, `${report.scope.label} · generated ${report.generated_at}`),
    ...report.warnings.map((w) => h("p", { role: "note" }, w)),
    table(report),
    h(
      "p",
      {},
      h("a", { href: q("csv") }, "CSV"),
      " · ",
      h("a", { href: q("md") }, "Markdown"),
      " · ",
      h("a", { href: `/api/outcomes/export?${reportQuery(scope, { format: "csv" })}` }, "Research export (CSV)"),
      " · ",
      h("a", { href: `/api/outcomes/export?${reportQuery(scope, { format: "sav" })}` }, "SPSS .sav"),
    ),
    ...blocks,
  );
}

function start(): void {
  const params = new URLSearchParams(location.search);
  const kind = h(
    "select",
    { id: "scope-kind" },
    ...(["series", "group", "organisation"] as const).map((k) => h("option", { value: k, selected: params.has(k) }, k)),
  );
  const initialKind = (["series", "group", "organisation"] as const).find((k) => params.has(k)) ?? "series";
  const id = h("input", { id: "scope-id", type: "number", min: 1, required: true, value: params.get(initialKind) ?? "" });
  const form = h(
    "form",
    { class: "q-scope" },
    h("label", { for: "scope-kind" }, "Report on "),
    kind,
    " ",
    h("label", { for: "scope-id" }, "number "),
    id,
    " ",
    h("button", { type: "submit", class: "q-secondary" }, "Show"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const scope: Scope = { kind: kind.value as Scope["kind"], id: Number(id.value) };
    history.replaceState(null, "", `?${reportQuery(scope)}`);
    void load(scope);
  });
  const main = h("main", { id: "content" }, h("h1", {}, "Questionnaire outcomes"), h("p", {}, "Pseudonymous codes only; members whose research consent is in force."), form, result);
  root.replaceChildren(h("header", { class: "q-header" }, h("a", { href: "/app/coordinator.html", class: "q-brand" }, "Healers' Circle: coordinator")), main);
  if (id.value) void load({ kind: initialKind, id: Number(id.value) });
}

start();
