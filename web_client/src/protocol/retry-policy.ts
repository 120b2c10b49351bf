/**
 * The wait before the next connection attempt after a transient refusal (a room moving
 * between servers, ...) or a failed connect. The numbers live in retry-policy.json, which the
 * Python browser-like clients (bench/retry_policy.py) read too; docs/deployment.md says why.
 */
import policy from "./retry-policy.json";

export interface RetryPolicy {
  first_ms: number;
  fast_cap_ms: number;
  fast_attempts: number;
  slow_cap_ms: number;
  jitter_min: number;
  jitter_max: number;
}

export const RETRY_POLICY: RetryPolicy = policy;

/** The wait before retry number `attempt` (0 for the first), `random` in [0, 1). */
export function retryDelayMs(attempt: number, random: () => number, p: RetryPolicy = RETRY_POLICY): number {
  const n = Math.max(0, Math.floor(attempt));
  const cap = n < p.fast_attempts ? p.fast_cap_ms : p.slow_cap_ms;
  // 2 ** n overflows to Infinity for a huge n, which min() turns into the cap.
  const base = Math.min(cap, p.first_ms * 2 ** n);
  return Math.round(base * (p.jitter_min + (p.jitter_max - p.jitter_min) * random()));
}
