"""The pathways' pure rules, table by table: peer ranking, conversation booking, host rotation,
the offer rule; and the protocol numbers this package and its docs rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.domain import ProtocolKind
from server.pathways.conversations import MAX_CONVERSATIONS, check_booking
from server.pathways.hosts import rotation
from server.pathways.matching import Candidate, rank
from server.pathways.models import OfferStatus
from server.pathways.offers import OfferRule
from server.protocols import spec_for
from server.questionnaires.submitted import Submitted

ROOT = Path(__file__).resolve().parents[2]


def _c(pid: int, prof: str | None, dept: str | None, load: int = 0, name: str = "") -> Candidate:
    return Candidate(pid, name or f"P{pid}", prof, dept, "", load)


def test_rank_same_profession_other_department_first() -> None:
    got = rank(
        1,
        "Nurse",
        "ICU",
        [
            _c(1, "nurse", "ER"),  # the colleague themself: never
            _c(2, "physician", "ER"),
            _c(3, " nurse ", "icu"),  # same department: never
            _c(4, "nurse", None),  # department unknown: after a known other one
            _c(5, "nurse", "Surgery", load=2),
            _c(6, "nurse", "ER", load=0),
            _c(7, None, "ER"),
        ],
    )
    assert [s.candidate.person_id for s in got] == [6, 5, 4, 2, 7]
    assert [s.same_profession for s in got] == [True, True, True, False, False]
    assert [s.other_department for s in got] == [True, True, None, True, True]


def test_rank_with_unknown_colleague_fields_keeps_everyone_but_them() -> None:
    got = rank(
        1,
        None,
        None,
        [_c(1, "nurse", "ER"), _c(2, "nurse", "ER", name="b"), _c(3, None, None, name="a")],
    )
    assert [s.candidate.person_id for s in got] == [3, 2]


NOW = datetime(2026, 1, 10, tzinfo=UTC)
WINDOW = NOW + timedelta(days=61)


@pytest.mark.parametrize(
    ("status", "booked", "pending", "at", "field"),
    [
        (OfferStatus.MATCHED, 0, 0, NOW + timedelta(days=1), None),
        (OfferStatus.MATCHED, 2, 0, WINDOW, None),
        (OfferStatus.MATCHED, MAX_CONVERSATIONS, 0, NOW + timedelta(days=1), "conversation"),
        (OfferStatus.MATCHED, 1, 1, NOW + timedelta(days=1), "date"),
        (OfferStatus.MATCHED, 1, 0, WINDOW + timedelta(minutes=1), "date"),
        (OfferStatus.ACCEPTED, 0, 0, NOW + timedelta(days=1), "status"),
        (OfferStatus.CLOSED, 1, 0, NOW + timedelta(days=1), "status"),
        (OfferStatus.MATCHED, 0, 0, NOW, "date"),
    ],
)
def test_check_booking(
    status: OfferStatus, booked: int, pending: int, at: datetime, field: str | None
) -> None:
    refusal = check_booking(
        status=status,
        booked=booked,
        pending=pending,
        starts_at=at,
        window_ends_at=WINDOW,
        now=NOW,
    )
    assert (refusal.field if refusal else None) == field


def test_rotation_continues_after_the_last_host() -> None:
    assert rotation([1, 2, 3], [10, 11, 12, 13], None) == {10: 1, 11: 2, 12: 3, 13: 1}
    assert rotation([1, 2, 3], [10, 11], 2) == {10: 3, 11: 1}
    assert rotation([1, 2, 3], [10], 99) == {10: 1}  # the last host left the group
    assert rotation([], [10], None) == {}


def _sub(instrument: str, total: float | None) -> Submitted:
    return Submitted(1, 2, 3, 4, instrument, "pre", total, "en")


def test_offer_rule_at_or_above_the_cutoff_only() -> None:
    rule = OfferRule(cutoff=2.59, public_url="http://x")
    assert rule.triggers(_sub("bat", 2.59)) and rule.triggers(_sub("bat", 5.0))
    assert not rule.triggers(_sub("bat", 2.58))
    assert not rule.triggers(_sub("bat", None))
    assert not rule.triggers(_sub("phq9", 27.0))


def test_self_help_numbers_in_this_pages_docs_are_its_tables() -> None:
    """docs/pathways.md repeats the self-help table's numbers (docs/protocols.md is checked
    against the table by tests/protocols/test_protocol_tables.py)."""
    r = spec_for(ProtocolKind.SELF_HELP).rules
    doc = (ROOT / "docs" / "pathways.md").read_text(encoding="utf-8")
    assert f"{r.members.low}-{r.members.high} members" in doc
    assert f"{r.length.default} minutes ({r.length.low}-{r.length.high})" in doc
    assert f"up to {r.sessions.high} sessions" in doc and r.per_week.high == 1


def test_peer_support_books_one_to_three() -> None:
    r = spec_for(ProtocolKind.PEER_SUPPORT).rules
    assert (r.sessions.low, r.sessions.high) == (1, MAX_CONVERSATIONS) == (1, 3)
    assert (r.length.low, r.length.high) == (45, 60)  # what ConversationIn accepts
