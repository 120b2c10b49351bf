"""Booking refusals and changes to a booked series, with notices and ICS SEQUENCE."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, vInt
from sqlalchemy import func, select

from server.db.engine import Database
from server.db.models import Membership, Person, ScheduledSession
from server.domain import GroupRole, MembershipStatus, SessionStatus
from server.errors import Conflict, UserError
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.scheduling import changes, enrolment, ics
from server.scheduling.booking import book, preview
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import SeriesSpec, parse_spec
from server.scheduling.store import reconcile_group

from .conftest import Clock, World, make_world


def spec(**kw: Any) -> SeriesSpec:
    base: dict[str, Any] = {
        "title": "Balint",
        "sessions": 8,
        "weekdays": ["MO", "TH"],
        "local_time": "19:00",
        "start_date": "2026-10-19",
        "duration_minutes": 60,
        "timezone": "Europe/Amsterdam",
    }
    base.update(kw)
    return parse_spec(base)


async def _book(
    db: Database, w: World, clock: Clock, cfg: SchedulingConfig, **kw: Any
) -> list[int]:
    async with db.sessionmaker() as s, s.begin():
        _, sessions, _ = await book(s, w.group_id, spec(**kw), actor_id=None, cfg=cfg, now=clock())
        return [x.id for x in sessions]


async def _outbox(db: Database, kind: str | None = None) -> list[OutboxMessage]:
    async with db.sessionmaker() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            q = q.where(OutboxMessage.kind == kind)
        return list((await s.execute(q)).scalars())


async def test_leader_double_booked_across_groups_is_refused(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    await _book(db, world, clock, cfg)
    other = await make_world(db, leader_id=world.leader_id, org_id=world.org_id, tag="b")
    async with db.sessionmaker() as s:
        pv = await preview(s, other.group_id, spec(start_date="2026-10-22"), clock())
    assert not pv.ok
    assert {p.code for p in pv.refusals} == {"leader_double_booked"}
    # Sessions 1-7 (22 Oct - 12 Nov) clash; session 8 (16 Nov) is after the first series.
    assert [p.session_index for p in pv.refusals] == list(range(1, 8))
    with pytest.raises(Conflict) as err:
        await _book(db, other, clock, cfg, start_date="2026-10-22")
    assert err.value.code == "booking_refused"
    # An hour later it fits.
    await _book(db, other, clock, cfg, start_date="2026-10-22", local_time="20:00")


async def test_min_members_warns_max_refuses_past_refuses(
    db: Database, clock: Clock, cfg: SchedulingConfig
) -> None:
    few = await make_world(db, members=5, tag="few")
    async with db.sessionmaker() as s:
        pv = await preview(s, few.group_id, spec(), clock())
    assert pv.ok and [p.code for p in pv.problems] == ["too_few_members"]
    many = await make_world(db, members=13, capacity=13, tag="many")
    async with db.sessionmaker() as s:
        pv = await preview(s, many.group_id, spec(), clock())
        assert [p.code for p in pv.refusals] == ["too_many_members"]
        pv = await preview(s, few.group_id, spec(start_date="2026-09-28"), clock())
        assert {p.code for p in pv.refusals} == {"in_past"}


async def test_move_one_session_bumps_sequence_updates_ics_and_notifies(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    ids = await _book(db, world, clock, cfg)
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t")
    await d.sweep_once(clock())
    assert len(await _outbox(db, "booked")) == 9
    async with db.sessionmaker() as s, s.begin():
        moved = await changes.move_session(
            s,
            ids[2],
            changes.MoveRequest(date=date(2026, 10, 27), local_time=time(18, 0)),
            actor_id=None,
            cfg=cfg,
            now=clock(),
        )
    assert moved.sequence == 1
    assert moved.starts_at.astimezone(ZoneInfo("Europe/Amsterdam")).hour == 18
    await d.sweep_once(clock())
    notices = await _outbox(db, "moved")
    assert len(notices) == 9
    nl = next(m for m in notices if m.locale == "nl")
    assert "maandag 2026-10-26 19:00" in nl.body and "dinsdag 2026-10-27 18:00" in nl.body
    fa = next(m for m in notices if m.locale == "fa")
    assert "Asia/Tehran" in fa.body and "20:30" in fa.body  # 18:00 CET is 20:30 in Tehran
    async with db.sessionmaker() as s:
        person = await s.get(Person, world.member_ids[1])
        assert person is not None
        cal = Calendar.from_ical(await ics.person_calendar(s, person, cfg.public_url))
        pending = await s.scalars(
            select(Dispatch).where(
                Dispatch.session_id == ids[2], Dispatch.status == DispatchStatus.PENDING
            )
        )
        keys = {x.key.split(":")[0] for x in pending}
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    ev = events[f"session-{ids[2]}@127.0.0.1"]
    assert int(cast(vInt, ev["sequence"])) == 1
    # Written in UTC (18:00 CET is 17:00Z); the feed names the reader's zone for display.
    assert "TZID" not in ev["dtstart"].params
    assert ev.decoded("dtstart").strftime("%H:%M %Z") == "17:00 UTC"
    assert int(cast(vInt, events[f"session-{ids[3]}@127.0.0.1"]["sequence"])) == 0
    assert str(cal["x-wr-timezone"]) == "Asia/Tehran"
    assert keys == {f"s{ids[2]}.1"}  # old-SEQUENCE reminders were superseded


async def test_move_refuses_past_and_leader_clash(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    ids = await _book(db, world, clock, cfg)
    async with db.sessionmaker() as s, s.begin():
        with pytest.raises(UserError):
            await changes.move_session(
                s,
                ids[0],
                changes.MoveRequest(date=date(2026, 9, 1), local_time=time(19)),
                actor_id=None,
                cfg=cfg,
                now=clock(),
            )
        with pytest.raises(Conflict):  # onto the group's own session 2
            await changes.move_session(
                s,
                ids[0],
                changes.MoveRequest(date=date(2026, 10, 22), local_time=time(19, 30)),
                actor_id=None,
                cfg=cfg,
                now=clock(),
            )


async def test_cancel_makeup_and_rest_of_series(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    ids = await _book(db, world, clock, cfg)
    async with db.sessionmaker() as s, s.begin():
        await changes.cancel_session(s, ids[1], actor_id=None, cfg=cfg, now=clock())
        mk = await changes.add_makeup(
            s,
            (await s.get(ScheduledSession, ids[0])).series_id or 0,  # type: ignore[union-attr]
            changes.MoveRequest(date=date(2026, 11, 20), local_time=time(19)),
            actor_id=None,
            cfg=cfg,
            now=clock(),
        )
        rest = await changes.change_rest(
            s,
            ids[4],
            changes.RestRequest(weekdays=["TU"], local_time=time(20), start_date=date(2026, 11, 3)),
            actor_id=None,
            cfg=cfg,
            now=clock(),
        )
    assert mk.is_makeup and mk.index == 9
    assert [x.id for x in rest] == [ids[4], ids[5], ids[6], ids[7]]
    async with db.sessionmaker() as s:
        sessions = {x.id: x for x in await s.scalars(select(ScheduledSession))}
        post = list(
            await s.scalars(
                select(Dispatch.session_id).where(
                    Dispatch.purpose == Purpose.TIMEPOINT_POST,
                    Dispatch.status == DispatchStatus.PENDING,
                )
            )
        )
    assert sessions[ids[1]].status is SessionStatus.CANCELLED and sessions[ids[1]].sequence == 1
    ams = ZoneInfo("Europe/Amsterdam")
    assert [sessions[i].starts_at.astimezone(ams).strftime("%a %d %H:%M") for i in ids[4:]] == [
        "Tue 03 20:00",
        "Tue 10 20:00",
        "Tue 17 20:00",
        "Tue 24 20:00",
    ]
    # The post-series questionnaire follows the last live session (the moved 24 November one).
    assert set(post) == {ids[7]} and len(post) == 8
    async with db.sessionmaker() as s, s.begin():
        cancelled = await changes.cancel_rest(s, ids[6], actor_id=None, cfg=cfg, now=clock())
    assert [x.id for x in cancelled] == [ids[6], mk.id, ids[7]]  # 17, 20 (make-up), 24 Nov
    async with db.sessionmaker() as s:
        post = list(
            await s.scalars(
                select(Dispatch.session_id).where(
                    Dispatch.purpose == Purpose.TIMEPOINT_POST,
                    Dispatch.status == DispatchStatus.PENDING,
                )
            )
        )
    assert set(post) == {ids[5]}  # 10 November is now the last live session


async def test_enrol_waiting_list_and_withdraw_promotes(
    db: Database, clock: Clock, cfg: SchedulingConfig
) -> None:
    w = await make_world(db, members=8, capacity=8, tag="full")
    ids = await _book(db, w, clock, cfg)
    extra = await make_world(db, members=2, org_id=w.org_id, tag="extra")
    newcomer, second = extra.member_ids
    async with db.sessionmaker() as s, s.begin():
        m = await enrolment.enrol(s, w.group_id, newcomer, actor_id=None, cfg=cfg, now=clock())
        m2 = await enrolment.enrol(s, w.group_id, second, actor_id=None, cfg=cfg, now=clock())
    assert m.status is MembershipStatus.WAITING and m2.status is MembershipStatus.WAITING
    await Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t").sweep_once(clock())
    clock.advance(days=20)  # mid-series: sessions 1-6 are over (ends 12 Nov)
    async with db.sessionmaker() as s, s.begin():
        promoted = await enrolment.withdraw(
            s, w.group_id, w.member_ids[0], actor_id=None, cfg=cfg, now=clock()
        )
    assert promoted is not None and promoted.person_id == newcomer
    async with db.sessionmaker() as s:

        def count(pid: int) -> Any:
            return s.scalar(
                select(func.count())
                .select_from(Dispatch)
                .where(
                    Dispatch.person_id == pid,
                    Dispatch.purpose == Purpose.REMINDER,
                    Dispatch.status == DispatchStatus.PENDING,
                )
            )

        assert await count(w.member_ids[0]) == 0
        future = await s.scalar(
            select(func.count())
            .select_from(ScheduledSession)
            .where(ScheduledSession.id.in_(ids), ScheduledSession.starts_at > clock())
        )
        assert future is not None
        assert await count(newcomer) == 2 * future
        assert await count(second) == 0
    await Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t").sweep_once(clock())
    kinds = {(m.person_id, m.kind) for m in await _outbox(db)}
    assert {
        (newcomer, "waiting"),
        (newcomer, "promoted"),
        (second, "waiting"),
        (w.member_ids[0], "withdrawn"),
    } <= kinds


async def test_reconcile_follows_roster_changes_made_elsewhere(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    await _book(db, world, clock, cfg)
    extra = await make_world(db, members=1, org_id=world.org_id, tag="x")
    async with db.sessionmaker() as s, s.begin():
        m = await s.scalar(select(Membership).where(Membership.person_id == world.member_ids[0]))
        assert m is not None
        m.status = MembershipStatus.WITHDRAWN
        s.add(Membership(group_id=world.group_id, person_id=extra.member_ids[0], role=m.role))
    for _ in range(2):  # idempotent
        async with db.sessionmaker() as s, s.begin():
            await reconcile_group(s, world.group_id, cfg, clock())
    async with db.sessionmaker() as s:
        rows = (
            await s.execute(
                select(Dispatch.person_id, func.count())
                .where(
                    Dispatch.status == DispatchStatus.PENDING, Dispatch.purpose == Purpose.REMINDER
                )
                .group_by(Dispatch.person_id)
            )
        ).all()
    per_person = dict(rows)
    assert world.member_ids[0] not in per_person
    assert per_person[extra.member_ids[0]] == 16 == per_person[world.member_ids[1]]


async def test_service_roster_job_reconciles_groups_changed_through_other_paths(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    from server.notify.mailer import OutboxNotifier
    from server.scheduling.service import SchedulingService

    await _book(db, world, clock, cfg)
    extra = await make_world(db, members=1, org_id=world.org_id, tag="late")
    async with db.sessionmaker() as s, s.begin():  # as the groups API does: no dispatches
        s.add(
            Membership(
                group_id=world.group_id, person_id=extra.member_ids[0], role=GroupRole.MEMBER
            )
        )
    service = SchedulingService(db.sessionmaker, cfg, OutboxNotifier(), clock=clock)
    assert await service.reconcile_rosters() >= 1
    async with db.sessionmaker() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(Dispatch)
            .where(Dispatch.person_id == extra.member_ids[0], Dispatch.purpose == Purpose.REMINDER)
        )
    assert n == 16


async def test_re_enrolling_a_withdrawn_member_after_dispatches_fired(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    """Issue 14, item 15: re-enrolment re-plans the person's dispatches; one that already fired
    for the same session and version (the pre timepoint, an early reminder) has the same key.
    It happened once, so it is not planned again, and the enrolment does not fail."""
    ids = await _book(db, world, clock, cfg)
    async with db.sessionmaker() as s:
        first = await s.get(ScheduledSession, ids[0])
        assert first is not None
    clock.now = first.starts_at - timedelta(minutes=30)  # the 24 h reminder and the pre fired
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t")
    await d.sweep_once(clock())
    pid = world.member_ids[0]

    async def keys() -> list[str]:
        async with db.sessionmaker() as s:
            rows = await s.scalars(
                select(Dispatch.key).where(
                    Dispatch.person_id == pid,
                    Dispatch.session_id == ids[0],
                    Dispatch.status.in_([DispatchStatus.DONE, DispatchStatus.PENDING]),
                    Dispatch.purpose.in_([Purpose.REMINDER, Purpose.TIMEPOINT_PRE]),
                )
            )
            return sorted(rows)

    fired = await keys()
    assert fired
    async with db.sessionmaker() as s, s.begin():
        await enrolment.withdraw(s, world.group_id, pid, actor_id=None, cfg=cfg, now=clock())
    clock.advance(minutes=1)
    async with db.sessionmaker() as s, s.begin():
        m = await enrolment.enrol(s, world.group_id, pid, actor_id=None, cfg=cfg, now=clock())
    assert m.status is MembershipStatus.ACTIVE
    assert await keys() == fired  # nothing that fired is planned twice
