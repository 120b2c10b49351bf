import { describe, expect, it } from "vitest";
import { fromJalali, toJalali } from "../src/coordinator/dates";
import { isStaff } from "../src/coordinator/links";

describe("Solar Hijri date entry", () => {
  it("knows Nowruz and the last day of Esfand", () => {
    expect(fromJalali(1405, 1, 1)).toBe("2026-03-21");
    expect(toJalali("2026-03-21")).toEqual([1405, 1, 1]);
    expect(toJalali("2026-03-20")).toEqual([1404, 12, 29]);
    expect(fromJalali(1403, 12, 30)).toBe("2025-03-20"); // 1403 is a leap year
  });

  it("refuses days that do not exist", () => {
    expect(fromJalali(1404, 12, 30)).toBeNull(); // 1404 is not a leap year
    expect(fromJalali(1405, 7, 31)).toBeNull(); // the second half has 30-day months
  });

  it("round-trips every day of three years", () => {
    const start = Date.UTC(2025, 0, 1);
    for (let d = 0; d < 3 * 366; d++) {
      const iso = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
      const [y, m, day] = toJalali(iso);
      expect(fromJalali(y, m, day)).toBe(iso);
    }
  });
});

describe("links between the apps", () => {
  it("sends coordinators and admins to their pages, members not", () => {
    expect(isStaff(["coordinator"])).toBe(true);
    expect(isStaff(["admin"])).toBe(true);
    expect(isStaff([])).toBe(false);
    expect(isStaff(undefined)).toBe(false);
  });
});
