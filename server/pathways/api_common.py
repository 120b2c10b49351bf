"""What the peer-support REST modules share: the request context's helpers, the audited
refusal, loading a request for a coordinator or its peer, the response shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.db.models import Person
from server.domain import AuditOutcome, OrgRole
from server.errors import CircleError
from server.notify import NOTIFIER_KEY
from server.notify.mailer import Notifier
from server.pathways import conversations
from server.pathways.models import OfferStatus, PeerOffer
from server.pathways.schemas import OfferOut, RequestOut

STAFF = (OrgRole.COORDINATOR, OrgRole.ADMIN)


def now() -> datetime:
    return datetime.now(UTC)


def notifier(ctx: Ctx) -> Notifier:
    return ctx.request.app[NOTIFIER_KEY]


async def refused(ctx: Ctx, action: str, target: str, err: CircleError) -> CircleError:
    """Audit a refused change in its own transaction (the change's own rolls back)."""
    await audit.record_now(
        ctx.sessionmaker,
        actor_id=ctx.me().id,
        action=action,
        target=target,
        outcome=AuditOutcome.REFUSED,
        details={"code": str(err.code), "fields": sorted(err.details.get("fields", {}))},
    )
    return err


async def is_staff(ctx: Ctx, s: AsyncSession, org_id: int) -> bool:
    return bool(await ctx.org_roles(s, org_id) & set(STAFF))


async def load_request(ctx: Ctx, s: AsyncSession, action: str, *, peer_ok: bool) -> PeerOffer:
    """An opted-in request, for a coordinator of its organisation (or its peer, if allowed)."""
    offer_id = ctx.path_int("offer_id")
    offer = await s.get(PeerOffer, offer_id)
    if offer is not None and offer.status not in (OfferStatus.OFFERED, OfferStatus.DECLINED):
        if await is_staff(ctx, s, offer.organisation_id):
            return offer
        if peer_ok and offer.peer_id == ctx.me().id:
            return offer
    raise await ctx.refuse(action, f"peer_offer:{offer_id}", "not a request you may act on")


async def count(s: AsyncSession, offer: PeerOffer) -> int:
    return conversations.counted(await conversations.sessions_of(s, offer))[0]


async def name(s: AsyncSession, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    p = await s.get(Person, person_id)
    return p.display_name if p is not None else None


async def offer_out(s: AsyncSession, o: PeerOffer) -> OfferOut:
    return OfferOut(
        id=o.id,
        status=o.status,
        created_at=o.created_at,
        answered_at=o.answered_at,
        consent_contact=o.consent_contact,
        reason=o.decline_reason,
        note=o.decline_note,
        peer_name=await name(s, o.peer_id) if o.status is OfferStatus.MATCHED else None,
        window_ends_at=o.window_ends_at,
        conversations=await count(s, o),
        max_conversations=conversations.MAX_CONVERSATIONS,
    )


async def request_out(s: AsyncSession, o: PeerOffer) -> RequestOut:
    p = await s.get(Person, o.person_id)
    assert p is not None
    return RequestOut(
        id=o.id,
        status=o.status,
        person_id=p.id,
        display_name=p.display_name,
        profession=p.profession,
        department=p.department,
        consent_contact=o.consent_contact,
        answered_at=o.answered_at,
        peer_id=o.peer_id,
        peer_name=await name(s, o.peer_id),
        window_ends_at=o.window_ends_at,
        group_id=o.group_id,
        series_id=o.series_id,
        conversations=await count(s, o),
    )
