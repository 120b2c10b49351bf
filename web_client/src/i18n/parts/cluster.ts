// Message catalogue part: cluster. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.

export const en = {
  "error.room_moving": "This session is moving to another server. Reconnecting…",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "error.room_moving": "این جلسه در حال انتقال به سرور دیگری است. در حال اتصال دوباره…",
};

export const nl: Record<Keys, string> = {
  "error.room_moving": "Deze sessie verhuist naar een andere server. Opnieuw verbinden…",
};
