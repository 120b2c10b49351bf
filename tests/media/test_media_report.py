"""bench/media.py's rounds (bench/media_report.py, pure): Janus runs in every round beside our
variants, in alternating order; the ratio to Janus is taken within each round and its median
reported, with the lowest round beside it; failed runs are left out, not counted as zero."""

from __future__ import annotations

from typing import Any

import pytest

from bench.media_report import (
    JANUS,
    combine,
    full_rate,
    median,
    round_order,
    round_ratios,
    summarize,
)


def test_the_order_alternates_and_janus_follows_the_compared_variant() -> None:
    assert [round_order(["shared"], True, k) for k in range(4)] == [
        ["shared", JANUS],
        [JANUS, "shared"],
        ["shared", JANUS],
        [JANUS, "shared"],
    ]
    assert round_order(["shared", "own"], True, 0) == ["shared", JANUS, "own"]
    assert round_order(["shared", "own"], True, 1) == ["own", JANUS, "shared"]
    assert round_order(["shared", "own"], False, 1) == ["own", "shared"]


def test_the_ratio_is_the_median_of_per_round_ratios_not_the_ratio_of_medians() -> None:
    ours = [10.0, 20.0, 12.0]
    janus = [15.0, 22.0, 24.0]
    ratios = round_ratios(ours, janus)
    assert ratios == pytest.approx([1.5, 1.1, 2.0])
    assert median(ratios) == pytest.approx(1.5)  # the ratio of the medians would be 22 / 12


def test_an_even_count_takes_the_mean_of_the_middle_two() -> None:
    assert median(round_ratios([10.0, 10.0], [12.0, 16.0])) == pytest.approx(1.4)


def test_a_failed_run_drops_its_round_from_the_ratio() -> None:
    ratios = round_ratios([10.0, None, 10.0], [20.0, 30.0, None])
    assert ratios == [pytest.approx(2.0), None, None]
    assert median(ratios) == pytest.approx(2.0)
    assert median([None, None]) is None


def _run(us: float, fps: float = 30.0, loss: float = 0.0) -> dict[str, Any]:
    return {"rooms": 1, "participants": 12, "forwarded_pps": 40_000, "sfu_cpu_pct": 50.0,
            "us_per_forwarded_packet": us, "min_receiver_fps": fps, "loss_pct": loss,
            "loadavg_1m": 2.0, "host_steal_pct": 0.0}  # fmt: skip


def test_combined_figures_take_the_median_cost_and_the_worst_receivers() -> None:
    runs = [_run(20.0, 30.0, 0.0), None, _run(10.0, 25.0, 1.5)]
    out = combine(runs, room_pps_nominal=10_000)
    assert out["us_per_forwarded_packet"] == pytest.approx(15.0)
    assert out["forwarded_pps_per_core"] == round(1e6 / 15)
    assert out["rooms_per_core"] == pytest.approx(round(1e6 / 15 / 10_000, 2))
    assert out["min_receiver_fps"] == 25.0
    assert out["loss_pct"] == 1.5
    assert out["runs_us"] == [20.0, None, 10.0]
    assert combine([None], 10_000)["us_per_forwarded_packet"] is None


def test_a_round_is_like_for_like_only_when_both_receivers_ran_at_full_rate() -> None:
    assert full_rate([_run(15.0, 29.9, 0.0), _run(20.0, 27.0, 0.0)], fps=30)
    assert not full_rate([_run(15.0, 29.9, 0.0), _run(11.0, 17.1, 33.0)], fps=30)
    assert not full_rate([_run(15.0, 29.9, 0.0), None], fps=30)


def test_the_summary_reports_every_round_and_the_median_of_their_ratios() -> None:
    orders = [round_order(["shared", "own"], True, k) for k in range(3)]
    runs: dict[str, list[dict[str, Any] | None]] = {
        "shared": [_run(10.0), _run(20.0), _run(12.0)],
        JANUS: [_run(15.0), _run(22.0), _run(24.0, fps=20.0)],
        "own": [_run(11.0), None, _run(13.0)],
    }
    out = summarize(orders, runs, room_pps_nominal=10_000, fps=30)
    assert out["us_per_forwarded_packet"] == 12.0
    assert out["janus_us_per_forwarded_packet"] == 22.0
    assert out["vs_janus_rounds"] == [1.5, 1.1, 2.0]
    assert out["vs_janus_packets_per_core"] == 1.5
    assert out["vs_janus_min"] == 1.1
    assert out["vs_janus_full_rate"] == [True, True, False]
    assert out["variants"]["own"]["vs_janus_rounds"] == [1.36, None, 1.85]
    assert out["round_order"] == orders
