// Message catalogue part: coordinator. en is the reference; fa and nl must carry every key (type-checked).
// Kept apart from ../en.ts so that features in flight do not edit the same lines.

export const en = {
  "error.not_cancelled": "This session is not cancelled, so there is nothing to restore.",
  "error.import_refused": "Nobody was invited: the file has problems (listed by row and column).",
} as const;

export type Keys = keyof typeof en;

export const fa: Record<Keys, string> = {
  "error.not_cancelled": "این جلسه لغو نشده است، پس چیزی برای بازگرداندن نیست.",
  "error.import_refused": "هیچ‌کس دعوت نشد: پرونده ایراد دارد (به ترتیب ردیف و ستون فهرست شده است).",
};

export const nl: Record<Keys, string> = {
  "error.not_cancelled": "Deze sessie is niet afgelast, dus er valt niets te herstellen.",
  "error.import_refused": "Niemand is uitgenodigd: het bestand bevat fouten (per rij en kolom vermeld).",
};
