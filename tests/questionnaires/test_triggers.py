"""Questionnaire triggers through the real dispatcher and a fake clock: the right forms go out
once each, reminders stop when a form is done, an opt-out stops mail, a member who left gets
nothing more, a late joiner gets the pre form at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from server.db.engine import Database
from server.db.models import Membership, Person, ScheduledSession
from server.domain import GroupRole, MembershipStatus
from server.notify.models import OutboxMessage
from server.questionnaires.form_models import FormAssignment, FormMailPref
from server.questionnaires.forms import Answer, FormState, form_state, responses_of, save_answer
from server.questionnaires.forms import submit as submit_form
from server.questionnaires.models import QuestionnaireResponse, ResponseStatus, Timepoint
from server.questionnaires.registry import load_registry
from server.scheduling.booking import book
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from server.scheduling.service import SchedulingService
from server.scheduling.store import reconcile_group
from tests.scheduling.conftest import Clock, World, make_world

from .triggers_support import service

REGISTRY = load_registry()
SPEC = {
    "title": "Balint",
    "sessions": 6,
    "weekdays": ["MO", "TH"],
    "local_time": "19:00",
    "start_date": "2026-10-19",
    "duration_minutes": 60,
    "timezone": "Europe/Amsterdam",
}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


async def _book(db: Database, w: World, clock: Clock) -> list[ScheduledSession]:
    async with db.sessionmaker() as s, s.begin():
        _, sessions, _ = await book(
            s, w.group_id, parse_spec(SPEC), actor_id=None, cfg=SchedulingConfig(), now=clock()
        )
        return sessions


async def _mails(db: Database) -> Counter[tuple[str, int | None]]:
    async with db.sessionmaker() as s:
        rows = await s.execute(
            select(OutboxMessage.kind, OutboxMessage.person_id).where(
                OutboxMessage.kind.in_(["form_open", "form_reminder"])
            )
        )
        return Counter((k, p) for k, p in rows)


async def _forms(db: Database, tp: Timepoint) -> dict[int, FormAssignment]:
    async with db.sessionmaker() as s:
        rows = await s.scalars(select(FormAssignment).where(FormAssignment.timepoint == tp))
        return {a.person_id: a for a in rows}


async def _complete(db: Database, a: FormAssignment, clock: Clock) -> None:
    """Answer every item of the form (the lowest scale value) and submit it."""
    async with db.sessionmaker() as s, s.begin():
        for iid in a.instruments:
            inst = REGISTRY.get(iid)
            for item in inst.items:
                if item.type.value == "scale":
                    value: int | str = inst.scale_of(item).low
                else:
                    value = "fine"
                await save_answer(s, a, REGISTRY, Answer(iid, item.id, value), clock())
        await submit_form(s, a, REGISTRY, clock())


async def _sweep(svc: SchedulingService) -> None:
    await svc.sweep()


async def test_forms_go_out_once_reminders_stop_opt_out_and_leavers(
    db: Database, clock: Clock
) -> None:
    w = await make_world(db)
    sessions = await _book(db, w, clock)
    svc = service(db, clock)
    opted, leaver, done = w.member_ids[1], w.member_ids[2], w.member_ids[0]
    async with db.sessionmaker() as s, s.begin():
        s.add(FormMailPref(person_id=opted, opted_out=True, updated_at=clock()))

    # Booking: the pre form opens at once for every member (never for the leader).
    await _sweep(svc)
    await _sweep(svc)  # and again: nothing twice
    pre = await _forms(db, Timepoint.PRE)
    assert set(pre) == set(w.member_ids)
    assert set(pre[done].instruments) == {"cdas", "cdrisc"}
    mails = await _mails(db)
    assert {p for (k, p) in mails if k == "form_open"} == set(w.member_ids) - {opted}
    assert set(mails.values()) == {1}
    async with db.sessionmaker() as s:
        first = await responses_of(s, pre[done], REGISTRY)
        assert [r.closes_at for r in first] == [sessions[0].starts_at + timedelta(hours=1)] * 2
        assert {r.status for r in first} == {ResponseStatus.ASSIGNED}

    # The last session ends: the post form opens (outcome measures and the evaluation).
    last = sessions[-1]
    clock.now = last.starts_at + timedelta(minutes=61)
    await _sweep(svc)
    post = await _forms(db, Timepoint.POST)
    assert set(post) == set(w.member_ids)
    assert post[done].instruments == ["cdas", "cdrisc", "evaluation"]
    async with db.sessionmaker() as s:
        pre_state = form_state(await responses_of(s, pre[done], REGISTRY), clock())
    assert pre_state is FormState.CLOSED  # unanswered pre forms closed with the first session
    mails = await _mails(db)
    assert {p for (k, p) in mails if k == "form_open"} == set(w.member_ids) - {opted}
    assert mails[("form_open", done)] == 2  # pre and post

    # One member finishes the post form; another leaves the group.
    await _complete(db, post[done], clock)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(Membership)
            .where(Membership.person_id == leaver)
            .values(status=MembershipStatus.WITHDRAWN)
        )

    # Reminders after 3 and 7 days: not to the finished, the opted-out or the leaver.
    reminded = set(w.member_ids) - {done, opted, leaver}
    for days in (3, 7):
        clock.now = last.starts_at + timedelta(hours=1, days=days, minutes=1)
        await _sweep(svc)
        mails = await _mails(db)
        got = {p for (k, p) in mails if k == "form_reminder"}
        assert got == reminded
        assert {mails[("form_reminder", p)] for p in reminded} == {1 if days == 3 else 2}

    # After 14 days the post form closes; the submitted one stays submitted.
    clock.now = last.starts_at + timedelta(hours=1, days=14, minutes=1)
    await _sweep(svc)
    async with db.sessionmaker() as s:
        statuses = {
            (r.person_id, r.status)
            for r in await s.scalars(
                select(QuestionnaireResponse).where(QuestionnaireResponse.timepoint == "post")
            )
        }
    assert (done, ResponseStatus.SUBMITTED) in statuses
    assert {st for p, st in statuses if p != done} == {ResponseStatus.CLOSED}

    # Six weeks after the last session: the follow-up, to those still in the group.
    clock.now = last.starts_at + timedelta(hours=1, weeks=6, minutes=1)
    await _sweep(svc)
    follow = await _forms(db, Timepoint.FOLLOWUP)
    assert set(follow) == set(w.member_ids) - {leaver}
    mails = await _mails(db)
    assert {p for (k, p) in mails if k == "form_open" and mails[(k, p)] == 3} == (
        set(w.member_ids) - {opted, leaver}
    )
    await _sweep(svc)
    assert await _mails(db) == mails  # nothing twice


async def test_a_late_joiner_gets_the_pre_form_at_once(db: Database, clock: Clock) -> None:
    w = await make_world(db)
    sessions = await _book(db, w, clock)
    svc = service(db, clock)
    await _sweep(svc)
    before = await _mails(db)
    # The series is running: session 2 is over, session 3 is tomorrow.
    clock.now = sessions[1].starts_at + timedelta(hours=2)
    await _sweep(svc)
    async with db.sessionmaker() as s, s.begin():
        late = Person(
            organisation_id=w.org_id,
            email="late@example.org",
            display_name="Late",
            timezone="Europe/Amsterdam",
            locale="nl",
        )
        s.add(late)
        await s.flush()
        s.add(Membership(group_id=w.group_id, person_id=late.id, role=GroupRole.MEMBER))
    async with db.sessionmaker() as s, s.begin():  # what the roster job does
        await reconcile_group(s, w.group_id, SchedulingConfig(), clock())
    await _sweep(svc)
    mails = await _mails(db)
    assert mails - before == Counter({("form_open", late.id): 1})
    pre = await _forms(db, Timepoint.PRE)
    async with db.sessionmaker() as s:
        rs = await responses_of(s, pre[late.id], REGISTRY)
    # Open until the joiner's first session ends.
    assert {r.closes_at for r in rs} == {sessions[2].starts_at + timedelta(hours=1)}


async def test_the_check_in_is_off_by_default_and_goes_out_once_per_session_when_on(
    db: Database, clock: Clock
) -> None:
    from server.domain import ProtocolKind
    from server.questionnaires.form_models import SeriesFormPlan
    from server.questionnaires.form_plan import TimepointPlan, default_plan

    w = await make_world(db, members=8)
    sessions = await _book(db, w, clock)
    svc = service(db, clock)
    clock.now = sessions[0].starts_at + timedelta(minutes=61)
    await _sweep(svc)
    assert await _forms(db, Timepoint.CHECKIN) == {}
    plan = default_plan(ProtocolKind.BALINT).model_copy(
        update={"checkin": TimepointPlan(instruments=["checkin"], close_days=2)}
    )
    async with db.sessionmaker() as s, s.begin():
        s.add(SeriesFormPlan(series_id=sessions[0].series_id, plan=plan.model_dump(mode="json")))
    clock.now = sessions[1].starts_at + timedelta(minutes=61)
    await _sweep(svc)
    await _sweep(svc)
    async with db.sessionmaker() as s:
        rows = list(
            await s.scalars(select(FormAssignment).where(FormAssignment.slot.like("checkin:%")))
        )
    assert {(a.person_id, a.slot) for a in rows} == {
        (p, f"checkin:{sessions[1].id}") for p in w.member_ids
    }
