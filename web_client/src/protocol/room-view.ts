// Pure decisions of the room screen that go beyond view.ts: the focus layout's spotlight, who
// has the floor, the waiting room's next step, which console actions cannot succeed now (and
// why), the keyboard shortcuts, and the group agreement's paragraphs. No DOM here.

import { phasePosition } from "./phases";
import type { Participant, Snapshot } from "./types";
import { canLead, canModerate, canNote, self, tileOrder } from "./view";

// ---- layout ----

export type Layout = "grid" | "focus";

/** Phones (up to 760 px wide, as in styles.css) start in the focus layout, wider screens in the grid. */
export function defaultLayout(viewportWidth: number): Layout {
  return viewportWidth <= 760 ? "focus" : "grid";
}

/** Phases in which the presenter is the one everybody watches. */
const PRESENTER_PHASES: ReadonlySet<string> = new Set(["presentation", "return"]);

/**
 * The layout to show: the person's own choice when they made one; otherwise the focus layout
 * while a presenter presents or returns (the presenter spotlighted on every screen size), and
 * the screen's default the rest of the time.
 */
export function layoutFor(viewportWidth: number, s: Snapshot, chosen: Layout | null): Layout {
  if (chosen !== null) return chosen;
  if (PRESENTER_PHASES.has(s.phase) && s.presenter_id !== null) return "focus";
  return defaultLayout(viewportWidth);
}



/**
 * Who is shown large in the focus layout: the presenter while presenting and on return; else
 * whoever has the floor; else the active speaker; else whoever was large before (no jumping
 * when nobody speaks); else the presenter; else the first other person in tile order. Never
 * oneself (one's own voice or floor does not put one's own face large), unless alone.
 */
export function spotlight(s: Snapshot, speakerId: string | null, previous: string | null): string | null {
  const present = new Set(s.participants.filter((p) => p.presence !== "left").map((p) => p.person_id));
  if (PRESENTER_PHASES.has(s.phase) && s.presenter_id !== null && present.has(s.presenter_id)) return s.presenter_id;
  const me = s.you.person_id;
  if (s.called_on !== null && s.called_on !== me && present.has(s.called_on)) return s.called_on;
  if (speakerId !== null && speakerId !== me && present.has(speakerId)) return speakerId;
  if (previous !== null && previous !== me && present.has(previous)) return previous;
  if (s.presenter_id !== null && s.presenter_id !== me && present.has(s.presenter_id)) return s.presenter_id;
  const order = tileOrder(s.participants);
  return (order.find((p) => p.person_id !== s.you.person_id) ?? order[0])?.person_id ?? null;
}

// ---- the floor ----

/** Who the leader called on (hands floor), with whether that is me. */
export function floorHolder(s: Snapshot): { person: Participant; mine: boolean } | null {
  if (s.called_on === null) return null;
  const person = s.participants.find((p) => p.person_id === s.called_on && p.presence !== "left");
  return person ? { person, mine: person.person_id === s.you.person_id } : null;
}

// ---- the waiting room ----

/** Whole minutes until `startMs` (rounded up; 0 once started). */
export function minutesUntil(startMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((startMs - nowMs) / 60_000));
}

/** Phases that need a presenter before they can start (server: requires_presenter). */
const NEEDS_PRESENTER: ReadonlySet<string> = new Set(["presentation"]);

/** True when the next phase needs a presenter and none is chosen. */
export function nextNeedsPresenter(s: Snapshot): boolean {
  const next = phasePosition(s.protocol, s.phase, s.phases).next;
  return next !== null && NEEDS_PRESENTER.has(next) && s.presenter_id === null;
}

export type NextStep = "choose_presenter" | "press_next" | null;

/** What the leader should do now in the waiting room (null: not the leader or not waiting). */
export function leaderNextStep(s: Snapshot): NextStep {
  if (s.phase !== "waiting" || !canLead(s) || s.ended) return null;
  return nextNeedsPresenter(s) ? "choose_presenter" : "press_next";
}

// ---- console guards ----

/** Why a console action cannot succeed now (a catalogue key), or null when it can. */
export type GuardReason = "console.why.presenter_first" | "console.why.presenter_locked" | "console.why.ended";

export function advanceGuard(s: Snapshot): GuardReason | null {
  if (s.ended) return "console.why.ended";
  return nextNeedsPresenter(s) ? "console.why.presenter_first" : null;
}

/** The presenter is chosen in the waiting room or during the presentation, not after. */
export function presenterGuard(s: Snapshot): GuardReason | null {
  if (s.ended) return "console.why.ended";
  return s.phase === "waiting" || s.phase === "presentation" ? null : "console.why.presenter_locked";
}

/** What this leader may do in the console, for the line that tells a co-leader. */
export function consoleRights(s: Snapshot): { lead: boolean; moderate: boolean; note: boolean } {
  return { lead: canLead(s), moderate: canModerate(s), note: canNote(s) };
}

/** The accepted presenter is told so, and is not offered "Raise hand to present". */
export function iAmPresenter(s: Snapshot): boolean {
  return s.presenter_id !== null && s.presenter_id === s.you.person_id;
}

/** The hand button: hidden for the presenter before the questions; worded for presenting in the waiting room. */
export function handOffer(s: Snapshot): "hidden" | "present" | "speak" {
  const me = self(s);
  const raised = me?.hand_raised ?? false;
  if (!raised && !s.you.capabilities.includes("raise_hand")) return "hidden";
  if (iAmPresenter(s) && !raised && (s.phase === "waiting" || s.phase === "presentation")) return "hidden";
  return s.phase === "waiting" && s.presenter_id === null && s.protocol === "balint" ? "present" : "speak";
}

// ---- keyboard shortcuts ----

export type Shortcut = "toggle-mute" | "talk-start" | "talk-end" | null;

export interface KeyInput {
  type: "down" | "up";
  /** KeyboardEvent.code: the key's place, whatever the keyboard layout (Persian too). */
  code: string;
  repeat: boolean;
  modifiers: boolean;
}

export interface KeyTarget {
  /** Lower-case tag name of the focused element. */
  tag: string;
  editable: boolean;
}

const TYPING_TAGS: ReadonlySet<string> = new Set(["input", "textarea", "select"]);
/** Space activates these: push-to-talk leaves them alone. */
const SPACE_TAGS: ReadonlySet<string> = new Set(["button", "a", "summary", "input", "textarea", "select", "video", "audio"]);

/**
 * M toggles the microphone; Space held while muted talks (push-to-talk) and releasing it mutes
 * again. Never while typing, never with Ctrl/Alt/Meta, and Space never where it presses a
 * control. `pushing`: a push-to-talk is under way.
 */
export function shortcut(key: KeyInput, target: KeyTarget, state: { muted: boolean; pushing: boolean }): Shortcut {
  if (key.code === "Space" && key.type === "up") return state.pushing ? "talk-end" : null;
  if (key.type !== "down" || key.modifiers || target.editable || TYPING_TAGS.has(target.tag)) return null;
  if (key.code === "KeyM") return key.repeat || state.pushing ? null : "toggle-mute";
  if (key.code === "Space") {
    if (SPACE_TAGS.has(target.tag) || key.repeat || state.pushing || !state.muted) return null;
    return "talk-start";
  }
  return null;
}

// ---- the group agreement ----

export interface Paragraph {
  key: string;
  params: Record<string, string | number>;
}

const AGREEMENT_PROTOCOLS: ReadonlySet<string> = new Set(["balint", "dynamic", "peer_support"]);

/**
 * The agreement's paragraphs as catalogue keys: who agrees (leader wording for leaders and
 * co-leaders), the method (per protocol), confidentiality, no recording, coming to the
 * sessions (plural by the locale's rules: `one`/`other`), anonymity of anything reported.
 */
export function agreementParagraphs(
  protocol: string,
  role: string | null,
  plannedSessions: number,
  locale: string,
): Paragraph[] {
  const leader = role === "leader" || role === "co_leader";
  const kind = AGREEMENT_PROTOCOLS.has(protocol) ? protocol : "other";
  const plural = new Intl.PluralRules(locale).select(plannedSessions) === "one" ? "one" : "other";
  const who = leader ? "leader" : "member";
  const out: Paragraph[] = [
    { key: `agreement.intro.${who}`, params: {} },
    { key: `agreement.method.${kind}`, params: {} },
    { key: `agreement.confidential.${who}`, params: {} },
    { key: "agreement.norecording", params: {} },
    plannedSessions > 0
      ? { key: `agreement.sessions.${plural}`, params: { n: plannedSessions } }
      : { key: "agreement.sessions.open", params: {} },
    { key: "agreement.anonymous", params: {} },
  ];
  if (leader) out.push({ key: "agreement.leader.duty", params: {} });
  return out;
}
