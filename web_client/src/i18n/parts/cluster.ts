// Message catalogue part: cluster. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.

export const en = {
  "error.room_moving": "This session is moving to another server. Reconnecting…",
  "cluster.reconnecting": "Reconnecting…",
  "cluster.reconnecting_detail": "The connection to the room was interrupted. You stay in the session; this usually takes a few seconds.",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "error.room_moving": "این جلسه در حال انتقال به سرور دیگری است. در حال اتصال دوباره…",
  "cluster.reconnecting": "در حال اتصال دوباره…",
  "cluster.reconnecting_detail": "ارتباط با اتاق قطع شد. شما در جلسه می‌مانید؛ معمولاً چند ثانیه طول می‌کشد.",
};

export const nl: Record<Keys, string> = {
  "error.room_moving": "Deze sessie verhuist naar een andere server. Opnieuw verbinden…",
  "cluster.reconnecting": "Opnieuw verbinden…",
  "cluster.reconnecting_detail": "De verbinding met de ruimte was even weg. Je blijft in de sessie; dit duurt meestal een paar seconden.",
};
