// Message catalogue part: formats. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.
// Leader continuity (issue 15): the notice when a co-leader takes over leading, or hands back.

import type { Snapshot } from "../../protocol/types";

export const en = {
  "formats.lead.lost": "{name} is leading while the leader's connection is lost.",
  "formats.lead.handed": "{name} is leading now: the leader handed over.",
  "formats.lead.back": "The leader is leading again.",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "formats.lead.lost": "تا زمانی که ارتباط رهبر گروه قطع است، {name} گروه را هدایت می‌کند.",
  "formats.lead.handed": "اکنون {name} گروه را هدایت می‌کند: رهبر گروه هدایت را واگذار کرد.",
  "formats.lead.back": "رهبر گروه دوباره گروه را هدایت می‌کند.",
};

export const nl: Record<Keys, string> = {
  "formats.lead.lost": "{name} leidt de groep zolang de verbinding van de leider weg is.",
  "formats.lead.handed": "{name} leidt nu de groep: de leider heeft het overgedragen.",
  "formats.lead.back": "De leider leidt de groep weer.",
};

/** The notice for the snapshot's stand-in (who leads meanwhile), in the reader's language. */
export function leadNotice(i18n: { t: (key: Keys, params?: Readonly<Record<string, string>>) => string }, s: Snapshot): string {
  if (!s.stand_in) return i18n.t("formats.lead.back");
  const name = s.participants.find((p) => p.person_id === s.stand_in)?.display_name ?? "";
  return i18n.t(s.lead_reason === "handed_over" ? "formats.lead.handed" : "formats.lead.lost", { name });
}
