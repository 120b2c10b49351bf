"""REST: my coaching offers (and declining one); booking a call (the coach or a coordinator)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.api.routing import Router
from server.coaching import service
from server.coaching.models import CoachingOffer
from server.db.models import Group, Person, ScheduledSession
from server.domain import STAFF_ROLES
from server.errors import NotFound
from server.scheduling.api import CONFIG_KEY

router = Router("coaching")


def _clean(v: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in v):
        raise ValueError("must not contain control characters")
    return v.strip() or ""


class CoachingDeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=500), AfterValidator(_clean)] | None = None


class CoachingBookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    time: time
    timezone: Annotated[str, Field(min_length=1, max_length=64)]


class CoachingOfferOut(BaseModel):
    id: int
    workshop_session_id: int
    status: str
    coach: str | None
    call_minutes: int
    session_id: int | None
    starts_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


async def _out(s: AsyncSession, offer: CoachingOffer) -> CoachingOfferOut:
    coach = None if offer.coach_id is None else await s.get(Person, offer.coach_id)
    call = None if offer.session_id is None else await s.get(ScheduledSession, offer.session_id)
    return CoachingOfferOut(
        id=offer.id,
        workshop_session_id=offer.workshop_session_id,
        status=offer.status.value,
        coach=None if coach is None else coach.display_name,
        call_minutes=service.CALL_MINUTES,
        session_id=offer.session_id,
        starts_at=None if call is None else call.starts_at,
    )


async def _offer(ctx: Ctx, s: AsyncSession) -> CoachingOffer:
    offer = await s.get(CoachingOffer, ctx.path_int("offer_id"))
    if offer is None:
        raise NotFound("no such coaching offer")
    return offer


@router.get(
    "/api/me/coaching",
    response=list[CoachingOfferOut],
    summary="My coaching offers after workshops (optional: each can be declined)",
)
async def my_offers(ctx: Ctx) -> list[CoachingOfferOut]:
    async with ctx.sessionmaker() as s:
        rows = await s.scalars(
            select(CoachingOffer)
            .where(CoachingOffer.person_id == ctx.me().id)
            .order_by(CoachingOffer.id)
        )
        return [await _out(s, o) for o in rows.all()]


@router.post(
    "/api/me/coaching/{offer_id}/decline",
    body=CoachingDeclineIn,
    response=CoachingOfferOut,
    summary="No, thank you: decline a coaching call (a booked one is cancelled)",
)
async def decline_offer(ctx: Ctx, body: CoachingDeclineIn) -> CoachingOfferOut:
    async with ctx.sessionmaker() as s, s.begin():
        offer = await _offer(ctx, s)
        if offer.person_id != ctx.me().id:
            raise NotFound("no such coaching offer")  # nobody learns of others' offers
        cfg = ctx.request.app[CONFIG_KEY]
        await service.decline(s, offer, body.reason or None, cfg=cfg, now=_now())
        return await _out(s, offer)


@router.post(
    "/api/coaching/{offer_id}/book",
    body=CoachingBookIn,
    response=CoachingOfferOut,
    summary="Book the 1-hour coaching call (the coach, or a coordinator of the organisation)",
)
async def book_offer(ctx: Ctx, body: CoachingBookIn) -> CoachingOfferOut:
    async with ctx.sessionmaker() as s, s.begin():
        offer = await _offer(ctx, s)
        me = ctx.me()
        workshop = await s.get(ScheduledSession, offer.workshop_session_id)
        group = None if workshop is None else await s.get(Group, workshop.group_id)
        assert group is not None
        staff = bool((await ctx.org_roles(s, group.organisation_id)) & set(STAFF_ROLES))
        if me.id != offer.coach_id and not staff:
            raise await ctx.refuse(
                "coaching.book", f"coaching_offer:{offer.id}", "only the coach or a coordinator"
            )
        cfg = ctx.request.app[CONFIG_KEY]
        await service.book(
            s,
            offer,
            day=body.date,
            at=body.time,
            timezone=body.timezone,
            actor_id=me.id,
            cfg=cfg,
            now=_now(),
        )
        return await _out(s, offer)
