"""Outcome reports as CSV (the tidy rows) and Markdown (a paper's "before / after / p" table)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

ROW_KEYS = (
    "instrument",
    "instrument_versions",
    "score",
    "comparison",
    "higher_is",
    "n_pairs",
    "pre_mean",
    "pre_sd",
    "post_mean",
    "post_sd",
    "mean_change",
    "ci95_low",
    "ci95_high",
    "wilcoxon_w",
    "wilcoxon_z",
    "p_asymptotic",
    "p_exact",
    "p_exact_method",
    "n_zero_differences",
    "n_tied_groups",
    "t",
    "p_t",
    "d_z",
    "rank_biserial",
    "rci_improved",
    "rci_unchanged",
    "rci_deteriorated",
)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_KEYS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in ROW_KEYS})
    return out.getvalue()


def _num(x: float | None, places: int = 2) -> str:
    return "-" if x is None else f"{x:.{places}f}"


def _p(x: float | None) -> str:
    if x is None:
        return "-"
    return "< .001" if x < 0.001 else f"{x:.3f}".lstrip("0")


def _msd(mean: float | None, sd: float | None) -> str:
    return "-" if mean is None else f"{mean:.2f} ± {_num(sd)}"


def to_markdown(report: dict[str, Any]) -> str:
    scope = report["scope"]
    lines = [
        f"## Outcomes: {scope['label']}",
        "",
        "| Measure | Comparison | n | Before, M ± SD | After, M ± SD | Change [95% CI] "
        "| Wilcoxon z | p (Wilcoxon) | p exact | t | p (t) | d_z | r_rb "
        "| RCI improved / unchanged / deteriorated |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        measure = r["instrument"] if r["score"] == "total" else f"{r['instrument']} {r['score']}"
        change = (
            "-"
            if r["mean_change"] is None
            else f"{r['mean_change']:.2f} [{_num(r['ci95_low'])}, {_num(r['ci95_high'])}]"
        )
        rci = (
            "-"
            if r["rci_improved"] is None
            else f"{r['rci_improved']} / {r['rci_unchanged']} / {r['rci_deteriorated']}"
        )
        lines.append(
            f"| {measure} | {r['comparison'].replace('_', ' → ')} | {r['n_pairs']} "
            f"| {_msd(r['pre_mean'], r['pre_sd'])} | {_msd(r['post_mean'], r['post_sd'])} "
            f"| {change} | {_num(r['wilcoxon_z'])} | {_p(r['p_asymptotic'])} | {_p(r['p_exact'])} "
            f"| {_num(r['t'])} | {_p(r['p_t'])} | {_num(r['d_z'])} | {_num(r['rank_biserial'])} "
            f"| {rci} |"
        )
    lines += [
        "",
        "Change = after - before. p (Wilcoxon): signed-rank test, normal approximation with tie "
        "correction, zero differences dropped, two-sided (as SPSS reports it); p exact: exact "
        "(conditional when tied). t: paired t-test. d_z: mean change / SD of changes. r_rb: "
        "matched-pairs rank-biserial (Kerby). RCI: Jacobson-Truax reliable change (|RCI| > 1.96).",
        "",
        "| Instrument | Timepoint | Submitted | Participants | Completion |",
        "|---|---|---:|---:|---:|",
    ]
    for c in report["completion"]:
        rate = "-" if c["rate"] is None else f"{100 * c['rate']:.0f}%"
        lines.append(
            f"| {c['instrument']} | {c['timepoint']} | {c['submitted']} | {c['participants']} "
            f"| {rate} |"
        )
    for w in report.get("warnings", []):
        lines.append(f"\nWarning: {w}")
    return "\n".join(lines) + "\n"
