// Message catalogue part: room. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.

export const en = {} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {};

export const nl: Record<Keys, string> = {};
