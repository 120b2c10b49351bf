import { describe, expect, it } from "vitest";
import { en } from "../src/i18n/en";
import { I18n, LOCALES, chooseLocale, missingKeys } from "../src/i18n";
import { errorText } from "../src/ui/feedback";

describe("i18n", () => {
  it("has every key in every catalogue, with the same placeholders", () => {
    for (const locale of LOCALES) {
      expect(missingKeys(locale)).toEqual([]);
      const i = new I18n(locale, "UTC");
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        const want = (en[key].match(/\{\w+\}/g) ?? []).sort();
        const got = (i.t(key).match(/\{\w+\}/g) ?? []).sort();
        expect(got, `${locale} ${key}`).toEqual(want);
      }
    }
  });

  it("chooses the profile locale, then the browser's, then English", () => {
    expect(chooseLocale(null, "fa", ["nl-NL"])).toBe("fa");
    expect(chooseLocale(null, null, ["de-DE", "nl-BE"])).toBe("nl");
    expect(chooseLocale(null, null, ["de"])).toBe("en");
    expect(chooseLocale("nl", "fa", [])).toBe("nl");
  });

  it("uses Persian digits and right-to-left for Persian", () => {
    const fa = new I18n("fa", "Asia/Tehran");
    expect(fa.dir).toBe("rtl");
    expect(fa.duration({ h: 0, m: 12, s: 5 })).toBe("۱۲:۰۵");
    expect(fa.t("room.phase.step", { n: 3, total: 5 })).toBe("مرحلهٔ ۳ از ۵");
    expect(new I18n("nl", "UTC").dir).toBe("ltr");
  });

  it("formats times in the viewer's time zone", () => {
    const at = Date.parse("2026-11-23T14:50:00Z");
    expect(new I18n("nl", "Europe/Amsterdam").time(at)).toBe("15:50");
    expect(new I18n("en", "Asia/Tehran").time(at)).toBe("18:20");
    expect(new I18n("fa", "Asia/Tehran").time(at)).toBe("۱۸:۲۰");
    expect(new I18n("en", "Not/AZone").timeZone).toBe("UTC");
  });

  it("interpolates and leaves unknown placeholders visible", () => {
    const i = new I18n("en", "UTC");
    expect(i.t("console.hand.accept", { name: "Amir" })).toBe("Accept Amir as presenter");
    expect(i.t("console.hand.accept")).toBe("Accept {name} as presenter");
  });

  it("words a server's error code from the catalogue, not with the server's English", () => {
    for (const locale of LOCALES) {
      const i = new I18n(locale, "UTC");
      for (const code of ["csrf", "used", "not_in_room", "unsupported_version", "weak_password"]) {
        expect(errorText(i, code, "raw server text")).toBe(i.t(`error.${code}` as keyof typeof en));
      }
      expect(errorText(i, "no_such_code", "")).toBe(i.t("error.generic"));
    }
  });
});
