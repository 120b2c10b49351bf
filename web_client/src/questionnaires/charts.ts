// Charts drawn with Observable Plot (SVG, so they carry an accessible name and description;
// every chart also has a table or text beside it). Pure data shaping lives in forms-api.ts.

import * as Plot from "@observablehq/plot";
import { type InstrumentScores, bandIntervals } from "./forms-api";

/**
 * One text alternative per chart: the SVG is an image named by `label` (the table or list
 * beside it carries the numbers); Plot's per-mark group labels are removed, since screen
 * readers do not get them from a role-less SVG group anyway and axe refuses them there.
 */
export function asImage<T extends Element>(chart: T, label: string): T {
  const svgs = chart instanceof SVGSVGElement ? [chart] : [...chart.querySelectorAll("svg")];
  for (const svg of svgs) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    for (const el of svg.querySelectorAll("[aria-label], [aria-description]")) {
      el.removeAttribute("aria-label");
      el.removeAttribute("aria-description");
    }
  }
  return chart;
}

/** One member's own scores on one instrument over time, over the instrument's bands. */
export function scoresChart(s: InstrumentScores, label: string, width: number, intlTag: string): SVGSVGElement | HTMLElement {
  const day = new Intl.DateTimeFormat(intlTag, { day: "numeric", month: "short" });
  const points = s.points
    .filter((p) => p.total !== null && p.submitted_at !== null)
    .map((p) => ({ when: new Date(p.submitted_at as string), total: p.total as number }));
  const range = s.range ?? [0, Math.max(1, ...points.map((p) => p.total))];
  const bands = bandIntervals(s.bands, range);
  const chart = Plot.plot({
    width,
    height: 220,
    marginLeft: 40,
    ariaLabel: label,
    ariaDescription: label,
    y: { domain: range, label: null, grid: false },
    x: { type: "utc", label: null, ticks: 3, tickFormat: (d: Date) => day.format(d), inset: 16 },
    marks: [
      Plot.ruleY(bands.slice(1), { y: "from", stroke: "#8a949c", strokeDasharray: "3,3" }),
      Plot.text(bands, {
        y: (b: { from: number; to: number }) => (b.from + b.to) / 2,
        text: "label",
        frameAnchor: "left",
        dx: 4,
        fill: "#4a5259",
        fontSize: 11,
      }),
      Plot.lineY(points, { x: "when", y: "total", stroke: "#1b5a87", strokeWidth: 2 }),
      Plot.dot(points, { x: "when", y: "total", fill: "#1b5a87", r: 4 }),
    ],
  });
  return asImage(chart, label);
}
