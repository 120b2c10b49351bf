"""Coaching offers: made when a workshop ends, declined by the person, booked by the coach or a
coordinator through the scheduling (a 1:1 group of kind ``coaching`` and a one-session series,
so reminders, calendars, join links and cancellation are the scheduling's own)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attendance.models import AttendanceRecordRow, AttendanceStatus
from server.audit import record
from server.coaching.models import CoachingOffer, OfferStatus
from server.db.engine import Database
from server.db.models import Group, Membership, Person, ScheduledSession
from server.domain import AuditOutcome, GroupRole, MembershipStatus, ProtocolKind
from server.errors import Conflict, UserError
from server.notify.mailer import Notifier
from server.notify.outbox import Notice, enqueue
from server.notify.templates import Kind, pick_locale, render
from server.protocols import coaching, workshop
from server.scheduling.booking import book as book_series
from server.scheduling.changes import cancel_session
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import SeriesSpec, Weekday

log = logging.getLogger("circle.coaching")

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
OFFER_DAYS = workshop.TABLE["coaching_offer_days"].default  # booked within this many days
CALL_MINUTES = coaching.SPEC.rules.length.default


async def offer_after_workshop(
    db: Database,
    session_id: int,
    notifier: Notifier | None = None,
    public_url: str = "",
    now: datetime | None = None,
) -> int:
    """A workshop session ended and its attendance is final: one offer per member who took
    part (leaders excluded), the workshop's leader as coach. Idempotent; returns how many new.
    With a ``notifier``, each new offer's person gets one notice (in the offer's transaction,
    so the mail exists if and only if the offer does)."""
    async with db.sessionmaker() as s, s.begin():
        sess = await s.get(ScheduledSession, session_id)
        if sess is None:
            return 0
        group = await s.get(Group, sess.group_id)
        if group is None or group.protocol is not ProtocolKind.WORKSHOP:
            return 0
        attended = (
            await s.scalars(
                select(AttendanceRecordRow.person_id).where(
                    AttendanceRecordRow.session_id == session_id,
                    AttendanceRecordRow.status.in_(ATTENDED),
                    AttendanceRecordRow.led.is_(False),
                )
            )
        ).all()
        coach = await s.scalar(
            select(Membership.person_id).where(
                Membership.group_id == group.id,
                Membership.role == GroupRole.LEADER,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )
        have = set(
            (
                await s.scalars(
                    select(CoachingOffer.person_id).where(
                        CoachingOffer.workshop_session_id == session_id
                    )
                )
            ).all()
        )
        new = [pid for pid in attended if pid not in have]
        for pid in new:
            s.add(
                CoachingOffer(
                    workshop_session_id=session_id,
                    person_id=pid,
                    coach_id=coach,
                    status=OfferStatus.OFFERED,
                )
            )
        if notifier is not None and new and coach is not None:
            await _tell(
                s, notifier, group, coach, new, public_url, now or datetime.now().astimezone()
            )
    log.info("workshop session %s: %d coaching offers", session_id, len(new))
    return len(new)


async def _tell(
    s: AsyncSession,
    notifier: Notifier,
    group: Group,
    coach_id: int,
    person_ids: list[int],
    public_url: str,
    now: datetime,
) -> None:
    """One notice per newly offered person, in their language, through the outbox."""
    coach = await s.get(Person, coach_id)
    assert coach is not None
    notices = []
    for pid in person_ids:
        person = await s.get(Person, pid)
        if person is None:  # pragma: no cover (attendance rows refer to people)
            continue
        locale = pick_locale(person.locale)
        subject, body = render(
            Kind.COACHING_OFFER,
            locale,
            name=person.display_name,
            group=group.name,
            minutes=CALL_MINUTES,
            coach=coach.display_name,
            days=OFFER_DAYS,
            link=f"{public_url.rstrip('/')}/app/",
        )
        notices.append(
            Notice(
                kind=Kind.COACHING_OFFER.value,
                to_address=person.email,
                locale=locale,
                subject=subject,
                body=body,
                person_id=person.id,
                organisation_id=group.organisation_id,
            )
        )
    await enqueue(s, notices, notifier, now)


async def decline(
    s: AsyncSession,
    offer: CoachingOffer,
    reason: str | None,
    *,
    cfg: SchedulingConfig,
    now: datetime,
) -> CoachingOffer:
    """The person says no (opt-out): a booked call is cancelled through the scheduling."""
    if offer.status is OfferStatus.DECLINED:
        raise Conflict("you have already declined this coaching call", field="status")
    if offer.status is OfferStatus.BOOKED and offer.session_id is not None:
        await cancel_session(s, offer.session_id, None, actor_id=offer.person_id, cfg=cfg, now=now)
    offer.status = OfferStatus.DECLINED
    offer.decline_reason = reason
    offer.decided_at = now
    await record(
        s,
        actor_id=offer.person_id,
        action="coaching.decline",
        target=f"coaching_offer:{offer.id}",
        outcome=AuditOutcome.ALLOWED,
    )
    return offer


async def book(
    s: AsyncSession,
    offer: CoachingOffer,
    *,
    day: date,
    at: time,
    timezone: str,
    actor_id: int,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    """Book the call: a 1:1 ``coaching`` group (coach and person) and a one-session series of
    CALL_MINUTES through the scheduling, which refuses what it always refuses (the past, a
    double-booked coach, an unknown time zone)."""
    if offer.status is not OfferStatus.OFFERED:
        raise Conflict(f"this offer is {offer.status.value}, not offered", field="status")
    if offer.coach_id is None:
        raise UserError("the workshop has no leader to coach", field="coach")
    workshop = await s.get(ScheduledSession, offer.workshop_session_id)
    assert workshop is not None
    last_day = (workshop.starts_at + timedelta(days=OFFER_DAYS)).date()
    if day > last_day:
        raise UserError(
            f"the call is offered within {OFFER_DAYS} days of the workshop (by {last_day})",
            field="date",
        )
    source = await s.get(Group, workshop.group_id)
    assert source is not None
    group = Group(
        organisation_id=source.organisation_id,
        name=f"Coaching: {source.name}"[:200],
        protocol=ProtocolKind.COACHING,
        capacity=1,
        min_members=1,
        settings={},
    )
    s.add(group)
    await s.flush()
    s.add(Membership(group_id=group.id, person_id=offer.coach_id, role=GroupRole.LEADER))
    s.add(Membership(group_id=group.id, person_id=offer.person_id, role=GroupRole.MEMBER))
    await s.flush()
    spec = SeriesSpec(
        title="Coaching call",
        sessions=1,
        weekdays=[list(Weekday)[day.weekday()]],
        local_time=at,
        start_date=day,
        duration_minutes=CALL_MINUTES,
        timezone=timezone,
    )
    _, sessions, _ = await book_series(s, group.id, spec, actor_id=actor_id, cfg=cfg, now=now)
    offer.status = OfferStatus.BOOKED
    offer.session_id = sessions[0].id
    offer.decided_at = now
    return sessions[0]
