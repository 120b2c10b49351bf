"""Scores through REST: measured inputs from attendance, inputs entered by hand (audited),
missing questionnaire inputs reported as missing; members see only their own score."""

from __future__ import annotations

from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AuditEntry
from server.domain import AuditOutcome
from tests.attendance.conftest import as_person, days_ago
from tests.attendance.test_api import _world
from tests.conftest import Live


def terms(score: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {t["term"]: t for t in score["terms"]}


async def test_scores_term_by_term(live: Live, db_url: str) -> None:
    w, _ = await _world(db_url)
    m0, m1, m2 = w.member_ids
    period = {
        "period_start": days_ago(30).date().isoformat(),
        "period_end": days_ago(0).date().isoformat(),
    }
    coord = await as_person(live, db_url, w.coordinator_id)
    member = await as_person(live, db_url, m1)
    try:
        for body in (
            {"subject": "person", "subject_id": m0, "term": "C", "value": 7},
            {"subject": "group", "subject_id": w.group_id, "term": "X", "value": 2.5},
        ):
            status, out = await coord.post(
                f"/api/organisations/{w.org_id}/score-entries", {**body, **period}
            )
            assert status == 201, out
            assert out["source"] == "entered by hand"
        status, bad = await coord.post(
            f"/api/organisations/{w.org_id}/score-entries",
            {"subject": "person", "subject_id": m0, "term": "B", "value": 1, **period},
        )
        assert status == 400 and "term" in str(bad)  # attendance is measured, not entered
        status, _ = await member.post(
            f"/api/organisations/{w.org_id}/score-entries",
            {"subject": "person", "subject_id": m1, "term": "C", "value": 7, **period},
        )
        assert status == 403
        status, entries = await coord.get(f"/api/organisations/{w.org_id}/score-entries")
        assert [e["term"] for e in entries] == ["X", "C"]
        assert entries[0]["entered_by"] == w.coordinator_id

        status, scores = await coord.get(f"/api/series/{w.series_id}/scores")
        assert status == 200, scores
        group = terms(scores["group"])
        assert group["X"]["points"] == 0.5 and group["X"]["source"] == "entered by hand"
        # B: regularity 1/3 x 0.5 + members' attendance (1 + 1 + 0) / 3 x 0.5, x 5
        assert group["B"]["value"] == round(0.5 / 3 + 0.5 * (2 / 3), 4)
        assert group["B"]["points"] == round(5 * (0.5 / 3 + 0.5 * (2 / 3)), 4)
        for letter in ("A", "E"):
            assert group[letter]["missing"], group[letter]
        assert "no check-in answered" in group["A"]["detail"]
        assert scores["group"]["missing"] == ["A", "C", "D", "E", "F"]
        assert scores["group"]["total"] == round(0.5 + group["B"]["points"], 4)
        by_person = {m["person_id"]: m for m in scores["members"]}
        mine = terms(by_person[m0])
        assert (mine["B"]["value"], mine["B"]["points"]) == (1.0, 5.0)
        assert (mine["C"]["points"], mine["C"]["source"]) == (5.0, "entered by hand")
        assert mine["E"]["value"] == round(scores["group"]["total"] / 28, 4)
        assert mine["A"]["missing"] and mine["I"]["missing"]
        leader = terms(by_person[w.leader_id])
        assert (leader["F"]["raw"], leader["F"]["points"]) == (2, 1.0)  # led 2 of 8, x 4
        assert by_person[m2]["level"] == "traveler"
        assert scores["group"]["period"]["series_id"] == w.series_id

        status, own = await member.get(f"/api/series/{w.series_id}/scores")
        assert status == 200
        assert [m["person_id"] for m in own["members"]] == [m1]
    finally:
        await coord.close()
        await member.close()
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            actions = [
                (e.action, e.outcome)
                for e in await s.scalars(
                    select(AuditEntry).where(AuditEntry.action.like("scores.%"))
                )
            ]
    finally:
        await db.dispose()
    assert actions.count(("scores.enter", AuditOutcome.ALLOWED)) == 2
    assert ("scores.enter", AuditOutcome.REFUSED) in actions


async def test_outsiders_see_no_scores(live: Live, db_url: str) -> None:
    w, _ = await _world(db_url)
    out = await as_person(live, db_url, w.outsider_id)
    try:
        status, _ = await out.get(f"/api/series/{w.series_id}/scores")
        assert status == 403
    finally:
        await out.close()


async def test_questionnaire_inputs_come_from_submitted_responses(live: Live, db_url: str) -> None:
    """A (check-in satisfaction) and I (change on the outcome instrument) read the questionnaire
    side's submitted responses: worked by hand below from the shipped check-in (1-5) and PHQ-9
    (0-27, higher is worse) files."""
    from server.questionnaires.models import QuestionnaireResponse, ResponseStatus, Timepoint

    w, _ = await _world(db_url)
    m0 = w.member_ids[0]
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            rows = [
                ("checkin", Timepoint.CHECKIN, {"total": 4, "subscales": {"satisfaction": 4.0}}),
                ("checkin", Timepoint.CHECKIN, {"total": 5, "subscales": {"satisfaction": 5.0}}),
                ("phq9", Timepoint.PRE, {"total": 15, "subscales": {}}),
                ("phq9", Timepoint.POST, {"total": 9, "subscales": {}}),
                ("phq9", Timepoint.FOLLOWUP, {"total": 0, "subscales": {}}),  # not post: unused
            ]
            for i, (instrument, timepoint, scores) in enumerate(rows):
                s.add(
                    QuestionnaireResponse(
                        slot_key=f"test:{m0}:{i}",
                        organisation_id=w.org_id,
                        person_id=m0,
                        person_code="HC-TEST",
                        series_id=w.series_id,
                        instrument=instrument,
                        instrument_version="1",
                        timepoint=timepoint,
                        status=ResponseStatus.SUBMITTED,
                        scores=scores,
                    )
                )
    finally:
        await db.dispose()
    coord = await as_person(live, db_url, w.coordinator_id)
    try:
        status, scores = await coord.get(f"/api/series/{w.series_id}/scores")
        assert status == 200, scores
        mine = terms({m["person_id"]: m for m in scores["members"]}[m0])
        # A: mean satisfaction 4.5 on 1-5 -> (4.5 - 1) / 4 = 0.875.
        assert not mine["A"]["missing"] and mine["A"]["value"] == 0.875
        # I: PHQ-9 15 -> 9 is an improvement of 6; the full term needs half the range (13.5).
        assert not mine["I"]["missing"] and mine["I"]["value"] == round(6 / 13.5, 4)
    finally:
        await coord.close()
