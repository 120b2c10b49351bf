// Message catalogue part: media. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.

export const en = {
  "media.reconnecting": "Reconnecting media…",
  "media.reconnected": "Media connected again.",
  "media.lost": "Sound and video could not be restored. Reload the page to rejoin.",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "media.reconnecting": "در حال اتصال دوبارهٔ صدا و تصویر…",
  "media.reconnected": "صدا و تصویر دوباره وصل شد.",
  "media.lost": "صدا و تصویر برقرار نشد. برای پیوستن دوباره، صفحه را دوباره بارگذاری کنید.",
};

export const nl: Record<Keys, string> = {
  "media.reconnecting": "Beeld en geluid opnieuw verbinden…",
  "media.reconnected": "Beeld en geluid weer verbonden.",
  "media.lost": "Beeld en geluid konden niet worden hersteld. Laad de pagina opnieuw om weer deel te nemen.",
};
