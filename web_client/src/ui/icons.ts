// Inline SVG icons (no icon font, no emoji font needed). Always decorative: the text next to
// them carries the meaning.

const PATHS = {
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M5 11a7 7 0 0 0 14 0 M12 18v3",
  micOff: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M5 11a7 7 0 0 0 14 0 M12 18v3 M3 3l18 18",
  camera: "M3 7h12v10H3z M15 10.5l6-3v9l-6-3",
  cameraOff: "M3 7h12v10H3z M15 10.5l6-3v9l-6-3 M2 3l20 18",
  hand: "M8 13V6a1.5 1.5 0 0 1 3 0v5 M11 11V4.5a1.5 1.5 0 0 1 3 0V11 M14 11V6a1.5 1.5 0 0 1 3 0v8a6 6 0 0 1-6 6h-.5a6 6 0 0 1-5-2.7L3.3 14a1.5 1.5 0 0 1 2.4-1.8L8 15",
  leave: "M10 4H5v16h5 M14 8l4 4-4 4 M18 12H9",
  speaker: "M4 9v6h4l5 4V5L8 9z M16.5 9a4 4 0 0 1 0 6 M19 6.5a8 8 0 0 1 0 11",
  headphones: "M4 16v-4a8 8 0 0 1 16 0v4 M4 15h3v5H4z M17 15h3v5h-3z",
  lock: "M6 11h12v9H6z M8.5 11V8a3.5 3.5 0 0 1 7 0v3",
  clock: "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z M12 7v5l3 2",
  pause: "M9 5v14 M15 5v14",
  chair: "M7 3h10v8H7z M5 11h14v4H5z M7 15v6 M17 15v6",
  info: "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z M12 8v.5 M12 11v6",
  warning: "M12 3l10 18H2z M12 10v4 M12 17v.5",
  refresh: "M20 12a8 8 0 1 1-2.3-5.6 M20 4v5h-5",
  floor: "M4 6h16v9H9l-5 4z",
  spotlight: "M3 4h18v11H3z M4 18h4v2H4z M10 18h4v2h-4z M16 18h4v2h-4z",
  settings: "M4 6h10 M18 6h2 M16 4v4 M4 12h4 M12 12h8 M10 10v4 M4 18h12 M20 18h0 M18 16v4",
  console: "M4 5h16v14H4z M8 9h8 M8 13h8 M8 17h5",
  circle: "M9 5a7 7 0 1 0 0 14a7 7 0 1 0 0-14z M15 5a7 7 0 1 0 0 14a7 7 0 1 0 0-14z",
} as const;

export type IconName = keyof typeof PATHS;

const SVG = "http://www.w3.org/2000/svg";

export function icon(name: IconName, extraClass = ""): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `icon ${extraClass}`.trim());
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", PATHS[name]);
  svg.append(path);
  return svg;
}

/** Set a control's icon and text, rebuilding only when either changed. */
export function setIconLabel(el: HTMLElement, name: IconName | null, text: string): void {
  const sig = `${name ?? ""}|${text}`;
  if (el.dataset["label"] === sig) return;
  el.dataset["label"] = sig;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = text;
  el.replaceChildren(...(name ? [icon(name), label] : [label]));
}
