"""Table-driven, one case per protocol: every number of the protocol's table against what the
study (or the product's stated choice) says, and the table against docs/protocols.md.

Adding a protocol kind: an entry in ``EXPECTED`` and a section in docs/protocols.md whose
table is ``doc_rows(spec)`` (print it with ``python -m tests.protocols.test_protocol_tables``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from server.domain import ProtocolKind
from server.protocols.registry import PROTOCOLS
from server.protocols.spec import ProtocolSpec
from server.protocols.table import Basis, Bound, SettingKind

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocols.md"
S, P = Basis.STUDY, Basis.PRODUCT

# protocol -> what the table must say: (low, high, default, basis) per bound, phases as
# (default, min, max, basis, flex, only in format), settings as (default, basis).
EXPECTED: dict[ProtocolKind, dict[str, Any]] = {
    ProtocolKind.BALINT: {
        "members": (8, 12, 12, S),  # 001: each group had 8 to 12 participants
        "sessions": (6, 8, 8, S),  # 001: 6-8 sessions
        "per_week": (2, 3, 2, S),  # 001: 2-3 times a week
        "length": (45, 70, 60, S),  # 001: 1 hour
        "phases": {
            "presentation": (10, 5, 20, P, False, None),
            "questions": (8, 3, 15, P, False, None),
            "sit_back": (15, 15, 20, S, False, None),  # 001: 15-20 minutes
            "return": (7, 3, 15, P, False, None),
            "open": (20, 5, 30, P, True, None),
        },
        "settings": {
            "auto_advance": (False, P),
            "takeover_seconds": (30, P),
            "presentation_minutes": (10, P),
            "questions_minutes": (8, P),
            "sitback_minutes": (15, S),
            "return_minutes": (7, P),
            "questions_floor": ("open", S),  # 001: others are welcome to ask
            "sitback_presenter_video": (True, S),  # 001: just turn off the microphone
            "cadence": ("warn", P),
        },
        "co_leaders_lead": False,
        "ends_unled": {"sit_back"},
    },
    ProtocolKind.DYNAMIC: {
        "members": (6, 13, 13, S),  # 003: thirteen members
        "sessions": (1, 18, 16, S),  # 003: weekly over four months
        "per_week": (1, 1, 1, S),  # 003: once per week
        "length": (60, 120, 90, S),  # 003: 1.5 hours
        "phases": {
            "check_in": (15, 5, 25, P, False, "rounds"),
            "open_floor": (90, 45, 120, S, True, None),
            "closing_round": (15, 5, 25, P, False, "rounds"),
        },
        "settings": {
            "auto_advance": (False, P),
            "takeover_seconds": (30, P),
            "check_in_minutes": (15, P),
            "closing_minutes": (15, P),
            "format": ("free", S),  # 003: the therapists' free discussion
        },
        "co_leaders_lead": True,  # 003: two psychiatrists as co-therapists
        "ends_unled": set(),
    },
    ProtocolKind.PEER_SUPPORT: {
        "members": (1, 1, 1, S),  # 002: one-to-one
        "sessions": (1, 3, 3, S),  # 002: three conversations (some wanted to start with one)
        "per_week": (1, 2, 1, P),
        "length": (45, 60, 60, P),
        "phases": {"conversation": (60, 45, 60, P, True, None)},
        "settings": {"auto_advance": (False, P), "takeover_seconds": (30, P)},
        "co_leaders_lead": True,
        "ends_unled": set(),
    },
    ProtocolKind.WORKSHOP: {
        "members": (4, 12, 12, S),  # 004: 4-12 participants
        "sessions": (1, 1, 1, S),  # 004: one workshop
        "per_week": (1, 1, 1, P),
        "length": (200, 230, 210, S),  # 004: 3.5 hours
        "phases": {
            "opening": (30, 15, 45, P, False, None),
            "case_work_1": (45, 20, 60, P, False, None),
            "break_1": (15, 5, 20, P, False, None),
            "skills": (45, 20, 60, P, False, None),
            "case_work_2": (45, 20, 60, P, False, None),
            "break_2": (10, 5, 20, P, False, None),
            "closing": (20, 10, 40, P, True, None),
        },
        "settings": {
            "auto_advance": (False, P),
            "takeover_seconds": (30, P),
            "opening_minutes": (30, P),
            "case_work_1_minutes": (45, P),
            "break_1_minutes": (15, P),
            "skills_minutes": (45, P),
            "case_work_2_minutes": (45, P),
            "break_2_minutes": (10, P),
        },
        "co_leaders_lead": True,  # 004: two psychologists facilitated
        "ends_unled": set(),
    },
    ProtocolKind.COACHING: {
        "members": (1, 1, 1, S),  # 004: one-to-one
        "sessions": (1, 1, 1, S),  # 004: one coaching call
        "per_week": (1, 1, 1, P),
        "length": (30, 60, 60, S),  # 004: one hour
        "phases": {"call": (60, 30, 60, S, True, None)},
        "settings": {"auto_advance": (False, P), "takeover_seconds": (30, P)},
        "co_leaders_lead": True,
        "ends_unled": set(),
    },
    ProtocolKind.SELF_HELP: {  # 000 gives no numbers: every one is the product's
        "members": (3, 12, 12, P),
        "sessions": (1, 52, 12, P),
        "per_week": (1, 1, 1, P),
        "length": (30, 120, 90, P),
        "phases": {"meeting": (90, 30, 120, P, True, None)},
        "settings": {"auto_advance": (False, P), "takeover_seconds": (30, P)},
        "co_leaders_lead": True,
        "ends_unled": set(),
    },
}


def _bound(b: Bound) -> tuple[int, int, int, Basis]:
    return (b.low, b.high, b.default, b.basis)


def doc_rows(spec: ProtocolSpec) -> list[str]:
    """The numbers table of a protocol's section in docs/protocols.md, as the table says it."""

    def row(what: str, value: str, basis: Basis, source: str) -> str:
        return f"| {what} | {value} | {basis.value} | {source} |"

    def bound(b: Bound) -> str:
        return f"{b.span} (default {b.default})" if b.low != b.high else b.span

    r = spec.rules
    out = [
        row("members per group", bound(r.members), r.members.basis, r.members.source),
        row("sessions per series", bound(r.sessions), r.sessions.basis, r.sessions.source),
        row("meetings per week", bound(r.per_week), r.per_week.basis, r.per_week.source),
        row("session length, minutes", bound(r.length), r.length.basis, r.length.source),
    ]
    for p in spec.phases:
        if not p.timed:
            continue
        value = f"{p.default_min} ({p.min_min}-{p.max_min})"
        if p.flex:
            value += ", takes the rest of the length"
        if p.only_in:
            value += f", format `{p.only_in}` only"
        out.append(row(f"phase `{p.phase.value}`, minutes", value, p.basis, p.note))
    for name in sorted(spec.settings):
        s = spec.settings[name]
        default = str(s.default).lower() if s.kind is SettingKind.FLAG else str(s.default)
        out.append(row(f"setting `{name}`", f"{default} ({s.allowed})", s.basis, s.source))
    return out


def _section(kind: ProtocolKind) -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"^## .*\(`{kind.value}`\)\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m is not None, f"docs/protocols.md has no section ending (`{kind.value}`)"
    return m.group(1)


def test_every_protocol_has_an_expectation() -> None:
    assert set(EXPECTED) == set(PROTOCOLS)


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda k: k.value)
def test_every_number_against_the_table(kind: ProtocolKind) -> None:
    spec, want = PROTOCOLS[kind], EXPECTED[kind]
    for name in ("members", "sessions", "per_week", "length"):
        assert _bound(getattr(spec.rules, name)) == want[name], name
    phases = {
        p.phase.value: (p.default_min, p.min_min, p.max_min, p.basis, p.flex, p.only_in)
        for p in spec.phases
        if p.timed
    }
    assert phases == want["phases"]
    assert {n: (s.default, s.basis) for n, s in spec.settings.items()} == want["settings"]
    assert spec.co_leaders_lead is want["co_leaders_lead"]
    assert {p.phase.value for p in spec.phases if p.ends_unled} == want["ends_unled"]
    # every number says where it comes from
    for p in spec.phases:
        assert p.note, p
    for s in spec.settings.values():
        assert s.source, s
    # the default plan adds up to the default length, in every format
    for fmt in spec.formats:
        values = {"format": fmt} if fmt else {}
        plan = spec.plan(spec.check_settings(values), None)
        assert plan.fits and sum(m for _, m in plan.minutes) == spec.rules.length.default
        # and fits at both ends of the length's range for the default format
    for length in (spec.rules.length.low, spec.rules.length.high):
        assert spec.plan({}, length).fits, length
    assert not spec.plan({}, spec.rules.length.high + 1).fits


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda k: k.value)
def test_the_table_against_the_docs(kind: ProtocolKind) -> None:
    section = _section(kind)
    table = [line for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    assert table == doc_rows(PROTOCOLS[kind])
    for heading in ("**Source.**", "**What the study says.**", "**What the product chose.**"):
        assert heading in section, heading


if __name__ == "__main__":  # print the tables for docs/protocols.md
    for k, s in PROTOCOLS.items():
        print(f"\n{k.value}\n| number | value | basis | source |\n|---|---|---|---|")
        print("\n".join(doc_rows(s)))
