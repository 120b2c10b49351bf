"""The conversations of a peer match: one to three, booked one at a time within the match's
window, through the scheduling package (the first as a peer-support series of one, each next
one as a further session of that series); after each, an optional short evaluation by either
side.

``check_booking`` is pure: it names the field a refused booking breaks (``conversation`` for a
fourth, ``date`` outside the window or before the last one has taken place).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import ScheduledSession
from server.domain import SessionStatus
from server.errors import Conflict
from server.pathways.models import EvaluationSide, OfferStatus, PeerEvaluation, PeerOffer
from server.scheduling import booking, changes
from server.scheduling.changes import MoveRequest
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import Weekday, load_zone, local_to_utc, parse_spec

MAX_CONVERSATIONS = 3  # 002: three conversations; the product allows one to three
PENDING = (SessionStatus.SCHEDULED, SessionStatus.OPEN, SessionStatus.LIVE)
WEEKDAYS = (Weekday.MO, Weekday.TU, Weekday.WE, Weekday.TH, Weekday.FR, Weekday.SA, Weekday.SU)


@dataclass(frozen=True, slots=True)
class Refusal:
    field: str
    message: str


def check_booking(
    *,
    status: OfferStatus,
    booked: int,
    pending: int,
    starts_at: datetime,
    window_ends_at: datetime | None,
    now: datetime,
) -> Refusal | None:
    """Why this conversation cannot be booked, or None."""
    if status is not OfferStatus.MATCHED or window_ends_at is None:
        return Refusal("status", f"a {status.value} request has no confirmed match")
    if booked >= MAX_CONVERSATIONS:
        return Refusal(
            "conversation", f"at most {MAX_CONVERSATIONS} conversations; {booked} are booked"
        )
    if pending:
        return Refusal("date", "book the next conversation after the last one has taken place")
    if starts_at <= now:
        return Refusal("date", "the conversation would be in the past")
    if starts_at > window_ends_at:
        return Refusal(
            "date", f"conversations are booked within the window, until {window_ends_at:%Y-%m-%d}"
        )
    return None


async def sessions_of(s: AsyncSession, offer: PeerOffer) -> list[ScheduledSession]:
    if offer.series_id is None:
        return []
    rows = await s.scalars(
        select(ScheduledSession)
        .where(ScheduledSession.series_id == offer.series_id)
        .order_by(ScheduledSession.starts_at)
    )
    return list(rows)


def counted(sessions: list[ScheduledSession]) -> tuple[int, int]:
    """(conversations booked, not cancelled; of those, not yet over)."""
    live = [x for x in sessions if x.status is not SessionStatus.CANCELLED]
    return len(live), sum(1 for x in live if x.status in PENDING)


@dataclass(frozen=True, slots=True)
class BookRequest:
    day: date
    local_time: time
    timezone: str
    duration_minutes: int


def starts_at(req: BookRequest) -> datetime:
    return local_to_utc(req.day, req.local_time, load_zone(req.timezone))


async def book(
    s: AsyncSession,
    offer: PeerOffer,
    req: BookRequest,
    *,
    actor_id: int,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    """Book the next conversation (the caller has run ``check_booking``)."""
    assert offer.group_id is not None
    if offer.series_id is None:
        spec = parse_spec(
            {
                "title": "Peer support",
                "sessions": 1,
                "weekdays": [WEEKDAYS[req.day.weekday()]],
                "local_time": req.local_time,
                "start_date": req.day,
                "duration_minutes": req.duration_minutes,
                "timezone": req.timezone,
            }
        )
        series, sessions, _ = await booking.book(
            s, offer.group_id, spec, actor_id=actor_id, cfg=cfg, now=now
        )
        offer.series_id = series.id
        offer.updated_at = now
        return sessions[0]
    return await changes.add_makeup(
        s,
        offer.series_id,
        MoveRequest(date=req.day, local_time=req.local_time, duration_minutes=req.duration_minutes),
        actor_id=actor_id,
        cfg=cfg,
        now=now,
    )


def side_of(offer: PeerOffer, person_id: int) -> EvaluationSide | None:
    if person_id == offer.person_id:
        return EvaluationSide.COLLEAGUE
    if person_id == offer.peer_id:
        return EvaluationSide.PEER
    return None


async def evaluate(
    s: AsyncSession,
    offer: PeerOffer,
    session: ScheduledSession,
    side: EvaluationSide,
    person_id: int,
    *,
    helpful: int,
    comment: str | None,
    now: datetime,
) -> PeerEvaluation:
    if session.status is not SessionStatus.ENDED:
        raise Conflict("session_id: evaluate a conversation after it has ended", field="session_id")
    exists = await s.scalar(
        select(PeerEvaluation.id).where(
            PeerEvaluation.session_id == session.id, PeerEvaluation.person_id == person_id
        )
    )
    if exists is not None:
        raise Conflict("session_id: this conversation is evaluated already", field="session_id")
    ev = PeerEvaluation(
        offer_id=offer.id,
        session_id=session.id,
        person_id=person_id,
        side=side,
        helpful=helpful,
        comment=comment,
        created_at=now,
    )
    s.add(ev)
    await s.flush()
    return ev
