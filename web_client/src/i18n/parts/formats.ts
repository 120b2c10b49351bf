// Message catalogue part: formats. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.
// Leader continuity (issue 15): the notice when a co-leader takes over leading, or hands back.

import type { Snapshot } from "../../protocol/types";

export const en = {
  "formats.lead.lost": "{name} is leading while the leader's connection is lost.",
  "formats.lead.handed": "{name} is leading now: the leader handed over.",
  "formats.lead.back": "The leader is leading again.",
  "formats.handover": "Hand over leading",
  "formats.handover.to": "Hand leading to",
  "formats.handover.back": "{name} (hand back to the leader)",
  "formats.handover.none": "No co-leader is present to hand leading to.",
  "formats.handover.noleader": "No leader or other co-leader is present to hand leading to.",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "formats.lead.lost": "تا زمانی که ارتباط رهبر گروه قطع است، {name} گروه را هدایت می‌کند.",
  "formats.lead.handed": "اکنون {name} گروه را هدایت می‌کند: رهبر گروه هدایت را واگذار کرد.",
  "formats.lead.back": "رهبر گروه دوباره گروه را هدایت می‌کند.",
  "formats.handover": "واگذاری هدایت گروه",
  "formats.handover.to": "واگذاری هدایت به",
  "formats.handover.back": "{name} (بازگرداندن هدایت به رهبر گروه)",
  "formats.handover.none": "هیچ کمک‌رهبری حاضر نیست که هدایت به او واگذار شود.",
  "formats.handover.noleader": "هیچ رهبر یا کمک‌رهبر دیگری حاضر نیست که هدایت به او واگذار شود.",
};

export const nl: Record<Keys, string> = {
  "formats.lead.lost": "{name} leidt de groep zolang de verbinding van de leider weg is.",
  "formats.lead.handed": "{name} leidt nu de groep: de leider heeft het overgedragen.",
  "formats.lead.back": "De leider leidt de groep weer.",
  "formats.handover": "Leiding overdragen",
  "formats.handover.to": "Leiding overdragen aan",
  "formats.handover.back": "{name} (teruggeven aan de leider)",
  "formats.handover.none": "Er is geen co-leider aanwezig aan wie je de leiding kunt overdragen.",
  "formats.handover.noleader": "Er is geen leider of andere co-leider aanwezig aan wie je de leiding kunt overdragen.",
};

/** The notice for the snapshot's stand-in (who leads meanwhile), in the reader's language. */
export function leadNotice(i18n: { t: (key: Keys, params?: Readonly<Record<string, string>>) => string }, s: Snapshot): string {
  if (!s.stand_in) return i18n.t("formats.lead.back");
  const name = s.participants.find((p) => p.person_id === s.stand_in)?.display_name ?? "";
  return i18n.t(s.lead_reason === "handed_over" ? "formats.lead.handed" : "formats.lead.lost", { name });
}

/** Whom a person holding `lead` may hand leading to (docs/signaling.md, `hand_over`): the
 * co-leaders present (not the one standing in, not oneself), and while a co-leader stands in,
 * the leaders present (handing back). */
export function handOverTargets(s: Snapshot): { person_id: string; display_name: string; back: boolean }[] {
  const standIn = s.stand_in ?? null;
  return s.participants
    .filter((p) => p.presence === "present")
    .filter(
      (p) =>
        (p.role === "co_leader" && p.person_id !== standIn && p.person_id !== s.you.person_id) ||
        // A leader may also take leading back themselves.
        (p.role === "leader" && standIn !== null),
    )
    .map((p) => ({ person_id: p.person_id, display_name: p.display_name, back: p.role === "leader" }));
}
