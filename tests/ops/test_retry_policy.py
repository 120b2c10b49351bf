"""The Python browser-like clients (bench/cluster.py, tests/cluster) wait as the web client
does: the schedule of web_client/src/protocol/retry-policy.json (retry-policy.ts; its vitest
checks the browser's side with the same figures)."""

from __future__ import annotations

import random

from bench.retry_policy import FAST_ATTEMPTS, retry_delay_s


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_schedule_doubles_to_the_fast_cap_then_backs_off() -> None:
    mid = Fixed(0.5)
    assert [retry_delay_s(n, mid) for n in (0, 1, 2, 3, 7)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert FAST_ATTEMPTS == 8
    assert retry_delay_s(FAST_ATTEMPTS, mid) == 10.0
    assert retry_delay_s(10_000, Fixed(0.0)) == 5.0


def test_jitter_is_half_to_one_and_a_half() -> None:
    for n in range(FAST_ATTEMPTS):
        assert 0.25 <= retry_delay_s(n, Fixed(0.0)) <= retry_delay_s(n, Fixed(0.999)) <= 3.0
