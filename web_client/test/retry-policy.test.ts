import { describe, expect, it } from "vitest";
import { RETRY_POLICY, retryDelayMs } from "../src/protocol/retry-policy";

const low = () => 0;
const mid = () => 0.5;
const high = () => 0.999999;

describe("retry policy (retry-policy.json)", () => {
  it("starts at half a second and doubles up to the fast cap", () => {
    expect([0, 1, 2, 3, 7].map((n) => retryDelayMs(n, mid))).toEqual([500, 1000, 2000, 2000, 2000]);
  });

  it("keeps every wait of a takeover under 3 s, jitter 0.5-1.5 kept", () => {
    for (let n = 0; n < RETRY_POLICY.fast_attempts; n += 1) {
      expect(retryDelayMs(n, high)).toBeLessThanOrEqual(3000);
      expect(retryDelayMs(n, low)).toBeGreaterThanOrEqual(250);
      expect(retryDelayMs(n, high)).toBeGreaterThan(retryDelayMs(n, low));
    }
    // The waits of the fast attempts add up to at most 1.5 x (0.5 + 1 + 2 x 6) = 20.25 s.
    const fastTotal = Array.from({ length: RETRY_POLICY.fast_attempts }, (_, n) => retryDelayMs(n, high));
    expect(fastTotal.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20_250);
  });

  it("backs off to the slow cap once the fast attempts are spent (a cluster that stays down)", () => {
    const n = RETRY_POLICY.fast_attempts;
    expect(retryDelayMs(n, mid)).toBe(10_000);
    expect(retryDelayMs(n + 50, low)).toBe(5_000);
    expect(retryDelayMs(1e6, high)).toBeLessThanOrEqual(15_000);
    // never more often than every 5 s from then on
    for (let k = n; k < n + 20; k += 1) expect(retryDelayMs(k, low)).toBeGreaterThanOrEqual(5_000);
  });

  it("treats a negative or fractional attempt as the first", () => {
    expect(retryDelayMs(-3, mid)).toBe(500);
    expect(retryDelayMs(0.7, mid)).toBe(500);
  });
});
