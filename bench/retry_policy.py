"""The web client's back-off, for the Python clients that behave like it (bench/cluster.py,
tests/cluster/harness.py). The numbers are read from the one definition the browser uses,
web_client/src/protocol/retry-policy.json (retry-policy.ts computes the same schedule):
first_ms doubling per attempt, capped at fast_cap_ms for the first fast_attempts attempts
and at slow_cap_ms after them, each wait scaled by jitter_min..jitter_max."""

from __future__ import annotations

import json
import random
from pathlib import Path

POLICY_FILE = Path(__file__).resolve().parents[1] / "web_client/src/protocol/retry-policy.json"
_P = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
FIRST_S = float(_P["first_ms"]) / 1000
FAST_CAP_S = float(_P["fast_cap_ms"]) / 1000
FAST_ATTEMPTS = int(_P["fast_attempts"])
SLOW_CAP_S = float(_P["slow_cap_ms"]) / 1000
JITTER = (float(_P["jitter_min"]), float(_P["jitter_max"]))


def retry_delay_s(attempt: int, rnd: random.Random | None = None) -> float:
    """The wait before retry number ``attempt`` (0 for the first), as retry-policy.ts."""
    n = max(0, attempt)
    cap = FAST_CAP_S if n < FAST_ATTEMPTS else SLOW_CAP_S
    base = min(cap, FIRST_S * 2.0 ** min(n, 60))
    r = (rnd or random).random()
    return base * (JITTER[0] + (JITTER[1] - JITTER[0]) * r)
