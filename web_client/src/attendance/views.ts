// The attendance pages' pieces: the grid (members x sessions, colour and text), the chart over
// the series, a score with its breakdown term by term, and the members' levels.

import type { I18n } from "../i18n";
import { h } from "../ui/dom";
import type { Cell, Report, ReportMember, Score } from "./api";
import { type Key, maybeKey, msg } from "./messages";

export type T = (key: Key, params?: Readonly<Record<string, string | number>>) => string;

export function translator(i18n: I18n): T {
  return (key, params = {}) => msg(i18n.locale, key, params);
}

function known(t: T, key: string, fallback: string): string {
  return maybeKey(key) ? t(key) : fallback;
}

export function percent(i18n: I18n, v: number | null): string {
  if (v === null) return "—";
  return new Intl.NumberFormat(i18n.intlTag, { style: "percent", maximumFractionDigits: 0 }).format(v);
}

function num(i18n: I18n, v: number, digits = 2): string {
  return new Intl.NumberFormat(i18n.intlTag, { maximumFractionDigits: digits }).format(v);
}

function day(i18n: I18n, iso: string): string {
  return i18n.date(Date.parse(iso));
}

function cellView(i18n: I18n, t: T, cell: Cell | null, held: boolean, cancelled: boolean): HTMLElement {
  if (cell === null || cell.status === null) {
    if (cell?.excused_ahead && !held && !cancelled) {
      // leaders see ahead who said they cannot come (and why)
      const why = cell.excuse_reason ? `: ${cell.excuse_reason}` : "";
      return h("td", { class: "att att-excused", "data-ahead": "1" }, h("small", { class: "att-note", text: t("saidAhead") + why }));
    }
    const text = cancelled ? t("cancelled") : held ? t("none") : t("notHeld");
    return h("td", { class: "att att-none", text });
  }
  const status = cell.status;
  const lines: string[] = [];
  if (cell.minutes_present !== null && status !== "absent" && status !== "excused") {
    lines.push(t("minutes", { n: i18n.number(cell.minutes_present) }));
  }
  if (cell.reconnects) lines.push(t("reconnects", { n: i18n.number(cell.reconnects) }));
  if (cell.excused_ahead) lines.push(t("saidAhead") + (cell.excuse_reason ? `: ${cell.excuse_reason}` : ""));
  const fixes = cell.corrections;
  const last = fixes[fixes.length - 1];
  if (last && cell.derived_status) {
    lines.push(t("corrected", { was: t(`status.${cell.derived_status}`) }) + `: ${last.reason}`);
  }
  return h(
    "td",
    { class: `att att-${status}`, "data-status": status },
    h("span", { class: "att-label", text: t(`status.${status}`) + (last ? " *" : "") }),
    lines.length ? h("small", { class: "att-note", text: lines.join(" · ") }) : null,
  );
}

/** The grid: one row per member, one column per session; every status in words and colour. */
export function grid(i18n: I18n, t: T, report: Report, members: ReportMember[]): HTMLElement {
  const head = h(
    "tr",
    {},
    h("th", { scope: "col", text: t("member") }),
    ...report.sessions.map((s) =>
      h(
        "th",
        { scope: "col" },
        h("span", { text: t("session", { n: i18n.number(s.index) }) }),
        h("small", { text: day(i18n, s.starts_at) + (s.moved ? ` · ${t("moved")}` : "") }),
      ),
    ),
    h("th", { scope: "col", text: t("rate") }),
  );
  const rows = members.map((m) =>
    h(
      "tr",
      { "data-person": String(m.person_id) },
      h("th", { scope: "row", text: m.display_name }),
      ...report.sessions.map((s) =>
        cellView(i18n, t, m.sessions[String(s.id)] ?? null, s.held, s.status === "cancelled"),
      ),
      h("td", { class: "att-rate", text: percent(i18n, m.attendance_rate) }),
    ),
  );
  return h(
    "div",
    { class: "table-scroll", tabindex: 0, role: "region", "aria-label": t("grid") },
    h("table", { class: "att-grid", "data-testid": "attendance-grid" }, h("caption", { text: t("grid") }), h("thead", {}, head), h("tbody", {}, ...rows)),
  );
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Attendance rate per held session as labelled bars (each bar carries its value in text). */
export function chart(i18n: I18n, t: T, report: Report): HTMLElement {
  const held = report.sessions.filter((s) => s.attendance_rate !== null);
  const ordered = i18n.dir === "rtl" ? [...held].reverse() : held;
  const w = 56;
  const width = Math.max(1, ordered.length) * w + 20;
  const height = 180;
  const box = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", height, role: "img", "aria-labelledby": "att-chart-title" });
  box.append(svg("title", { id: "att-chart-title" }, `${t("chart")}: ${held.map((s) => t("chartLabel", { n: i18n.number(s.index), rate: percent(i18n, s.attendance_rate) })).join(", ")}`));
  box.append(svg("line", { x1: 10, x2: width - 10, y1: 150, y2: 150, class: "axis" }));
  ordered.forEach((s, i) => {
    const rate = s.attendance_rate ?? 0;
    const barH = Math.round(rate * 120);
    const x = 10 + i * w + 8;
    box.append(svg("rect", { x, y: 150 - barH, width: w - 16, height: barH, class: "bar", rx: 3 }));
    box.append(svg("text", { x: x + (w - 16) / 2, y: 150 - barH - 6, "text-anchor": "middle", class: "bar-value" }, percent(i18n, s.attendance_rate)));
    box.append(svg("text", { x: x + (w - 16) / 2, y: 168, "text-anchor": "middle", class: "bar-label" }, i18n.number(s.index)));
  });
  return h("figure", { class: "card att-chart", "data-testid": "attendance-chart" }, h("figcaption", { text: t("chart") }), box as unknown as HTMLElement);
}

/** A score: total, level, period and every term with its weight, value, points and source. */
export function scoreCard(i18n: I18n, t: T, score: Score, title: string, testid: string): HTMLElement {
  const prefix = score.kind === "individual" ? "individual." : "group.";
  const rows = score.terms.map((term) =>
    h(
      "tr",
      { class: term.missing ? "term-missing" : "", "data-term": term.term },
      h("th", { scope: "row", text: term.term }),
      h("td", { text: known(t, `${prefix}${term.term}`, term.name) }),
      h("td", { text: num(i18n, term.weight) }),
      h("td", { text: term.value === null ? t("missing") : num(i18n, term.value) }),
      h("td", { text: term.points === null ? t("missing") : num(i18n, term.points) }),
      h("td", {}, h("span", { text: known(t, `source.${term.source}`, term.source) }), h("small", { class: "muted", text: term.detail })),
    ),
  );
  const missing = score.missing.map((x) => `${x} (${known(t, `${prefix}${x}`, x)})`).join(", ");
  return h(
    "section",
    { class: "card score", "data-testid": testid },
    h("h2", { text: title }),
    h(
      "p",
      { class: "score-total" },
      h("strong", { class: `level level-${score.level}`, "data-level": score.level, text: known(t, `level.${score.level}`, score.level) }),
      " · ",
      h("span", { text: t("total", { total: num(i18n, score.total), max: num(i18n, score.max_total) }) }),
    ),
    h("p", { class: "muted", text: t("period", { from: day(i18n, score.period.from), to: day(i18n, score.period.to) }) }),
    h("p", { class: "muted formula", dir: "ltr", text: score.formula }),
    score.missing.length ? h("p", { class: "muted", text: t("incomplete", { terms: missing }) }) : null,
    h(
      "div",
      { class: "table-scroll", tabindex: 0, role: "region", "aria-label": title },
      h(
        "table",
        { class: "terms" },
        h("thead", {}, h("tr", {}, ...(["term", "what", "weight", "value", "points", "source"] as const).map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, ...rows),
      ),
    ),
  );
}

/** Each member's total and level (leaders and coordinators). */
export function levels(i18n: I18n, t: T, scores: Score[]): HTMLElement {
  return h(
    "section",
    { class: "card", "data-testid": "member-levels" },
    h("h2", { text: t("levels") }),
    h(
      "table",
      { class: "terms" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("member") }), h("th", { scope: "col", text: t("score") }), h("th", { scope: "col", text: t("level") }))),
      h(
        "tbody",
        {},
        ...scores.map((s) =>
          h(
            "tr",
            { "data-person": String(s.person_id) },
            h("th", { scope: "row", text: s.display_name ?? "" }),
            h("td", { text: t("total", { total: num(i18n, s.total), max: num(i18n, s.max_total) }) }),
            h("td", {}, h("span", { class: `level level-${s.level}`, "data-level": s.level, text: known(t, `level.${s.level}`, s.level) })),
          ),
        ),
      ),
    ),
  );
}
