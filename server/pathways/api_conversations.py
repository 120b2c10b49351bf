"""REST of the peer-support pathway (tag ``pathways``), after the match: conversations (one to
three, one at a time, within the window; a fourth refused naming ``conversation``), closing a
pathway, the evaluations, and the organisation's trained peers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.db.models import Person, ScheduledSession
from server.domain import AuditOutcome
from server.errors import Conflict, NotFound, UserError
from server.pathways import conversations
from server.pathways.api_common import (
    STAFF,
    load_request,
    now,
    refused,
    request_out,
)
from server.pathways.models import OfferStatus, PeerOffer, PeerSupporter
from server.pathways.schemas import (
    ConversationIn,
    ConversationOut,
    EvaluationIn,
    EvaluationOut,
    PeerSupporterIn,
    PeerSupporterOut,
    RequestOut,
)
from server.scheduling.api import CONFIG_KEY

router = Router("pathways")


@router.post(
    "/api/peer-support/requests/{offer_id}/conversations",
    body=ConversationIn,
    response=ConversationOut,
    status=201,
    errors=(403, 409),
    summary="Book the next conversation (1-3, one at a time, within the window)",
)
async def book_conversation(ctx: Ctx, body: ConversationIn) -> ConversationOut:
    target = f"peer_offer:{ctx.path_int('offer_id')}"
    at = now()
    try:
        async with ctx.sessionmaker() as s, s.begin():
            offer = await load_request(ctx, s, "peer_conversation.book", peer_ok=True)
            req = conversations.BookRequest(
                body.date,
                body.local_time,
                body.timezone or ctx.me().timezone,
                body.duration_minutes,
            )
            booked, pending = conversations.counted(await conversations.sessions_of(s, offer))
            refusal = conversations.check_booking(
                status=offer.status,
                booked=booked,
                pending=pending,
                starts_at=conversations.starts_at(req),
                window_ends_at=offer.window_ends_at,
                now=at,
            )
            if refusal is not None:
                raise Conflict(f"{refusal.field}: {refusal.message}", field=refusal.field)
            sess = await conversations.book(
                s, offer, req, actor_id=ctx.me().id, cfg=ctx.request.app[CONFIG_KEY], now=at
            )
            return ConversationOut(
                session_id=sess.id,
                index=sess.index,
                starts_at=sess.starts_at,
                duration_minutes=sess.duration_minutes,
                status=sess.status,
            )
    except (UserError, Conflict) as exc:
        raise await refused(ctx, "peer_conversation.book", target, exc) from None


async def _party(ctx: Ctx, s: AsyncSession, action: str) -> PeerOffer:
    """The request, for its colleague, its peer or a coordinator."""
    offer_id = ctx.path_int("offer_id")
    offer = await s.get(PeerOffer, offer_id)
    if offer is not None and ctx.me().id == offer.person_id:
        return offer
    return await load_request(ctx, s, action, peer_ok=True)


@router.get(
    "/api/peer-support/requests/{offer_id}/conversations",
    response=list[ConversationOut],
    errors=(403,),
    summary="The conversations of a request (its colleague, its peer, coordinators)",
)
async def list_conversations(ctx: Ctx) -> list[ConversationOut]:
    async with ctx.sessionmaker() as s:
        offer = await _party(ctx, s, "peer_conversation.list")
        return [
            ConversationOut(
                session_id=x.id,
                index=x.index,
                starts_at=x.starts_at,
                duration_minutes=x.duration_minutes,
                status=x.status,
            )
            for x in await conversations.sessions_of(s, offer)
        ]


@router.post(
    "/api/peer-support/requests/{offer_id}/close",
    response=RequestOut,
    errors=(403, 409),
    summary="Close a pathway (its colleague, its peer or a coordinator); nothing more is booked",
)
async def close(ctx: Ctx) -> RequestOut:
    async with ctx.sessionmaker() as s, s.begin():
        offer = await _party(ctx, s, "peer_pathway.close")
        if offer.status in (OfferStatus.CLOSED, OfferStatus.DECLINED, OfferStatus.OFFERED):
            raise Conflict(f"status: a {offer.status.value} request is not open", field="status")
        offer.status = OfferStatus.CLOSED
        offer.updated_at = now()
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="peer_pathway.close",
            target=f"peer_offer:{offer.id}",
            outcome=AuditOutcome.ALLOWED,
        )
        return await request_out(s, offer)


@router.post(
    "/api/peer-support/conversations/{session_id}/evaluation",
    body=EvaluationIn,
    response=EvaluationOut,
    status=201,
    errors=(403, 404, 409),
    summary="My optional short evaluation of a conversation that has ended (once, either side)",
)
async def evaluate(ctx: Ctx, body: EvaluationIn) -> EvaluationOut:
    session_id = ctx.path_int("session_id")
    me = ctx.me()
    async with ctx.sessionmaker() as s, s.begin():
        sess = await s.get(ScheduledSession, session_id)
        offer = (
            await s.scalar(select(PeerOffer).where(PeerOffer.series_id == sess.series_id))
            if sess is not None and sess.series_id is not None
            else None
        )
        side = conversations.side_of(offer, me.id) if offer is not None else None
        if sess is None or offer is None or side is None:
            raise await ctx.refuse(
                "peer_conversation.evaluate", f"session:{session_id}", "not your conversation"
            )
        ev = await conversations.evaluate(
            s, offer, sess, side, me.id, helpful=body.helpful, comment=body.comment, now=now()
        )
        return EvaluationOut(
            session_id=ev.session_id,
            side=ev.side,
            helpful=ev.helpful,
            comment=ev.comment,
            created_at=ev.created_at,
        )


# -- trained peers -------------------------------------------------------------------------------


@router.put(
    "/api/organisations/{org_id}/peer-supporters/{person_id}",
    body=PeerSupporterIn,
    response=PeerSupporterOut,
    errors=(403, 404),
    summary="Mark a person of the organisation as a trained peer, with their availability",
)
async def put_peer(ctx: Ctx, body: PeerSupporterIn) -> PeerSupporterOut:
    org_id, person_id = ctx.path_int("org_id"), ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        await ctx.require_org_role(s, org_id, STAFF, action="peer_supporter.set")
        person = await s.get(Person, person_id)
        if person is None or person.organisation_id != org_id:
            raise NotFound("no such person in this organisation")
        row = await s.get(PeerSupporter, person_id)
        if row is None:
            row = PeerSupporter(person_id=person_id, organisation_id=org_id)
            s.add(row)
        row.availability, row.active, row.updated_at = body.availability, body.active, now()
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="peer_supporter.set",
            target=f"person:{person_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"active": body.active},
        )
        return PeerSupporterOut(
            person_id=person.id,
            display_name=person.display_name,
            profession=person.profession,
            department=person.department,
            availability=row.availability,
            active=row.active,
        )


@router.get(
    "/api/organisations/{org_id}/peer-supporters",
    response=list[PeerSupporterOut],
    errors=(403,),
    summary="The organisation's trained peers (coordinators)",
)
async def list_peers(ctx: Ctx) -> list[PeerSupporterOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF, action="peer_supporter.list")
        rows = await s.execute(
            select(PeerSupporter, Person)
            .join(Person, Person.id == PeerSupporter.person_id)
            .where(PeerSupporter.organisation_id == org_id)
            .order_by(Person.display_name)
        )
        return [
            PeerSupporterOut(
                person_id=p.id,
                display_name=p.display_name,
                profession=p.profession,
                department=p.department,
                availability=r.availability,
                active=r.active,
            )
            for r, p in rows.all()
        ]
