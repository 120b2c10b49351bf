"""REST of the peer-support pathway (tag ``pathways``): the person's offer, coordinators'
requests and matching, the peer's confirmation, conversations and evaluations, trained peers.

An offer is its person's alone: anybody else asking for it gets 404, and the refusal is
audited. Refused changes (a match to oneself, a fourth conversation, ...) name the field,
change nothing and are audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.db.models import Person, ScheduledSession
from server.domain import AuditOutcome, OrgRole
from server.errors import CircleError, Conflict, NotFound, UserError
from server.notify import NOTIFIER_KEY
from server.notify.mailer import Notifier
from server.pathways import conversations, matching, offers
from server.pathways.models import OfferStatus, PeerOffer, PeerSupporter
from server.pathways.schemas import (
    AsPeerOut,
    ConfirmIn,
    ConversationIn,
    ConversationOut,
    DeclinesOut,
    EvaluationIn,
    EvaluationOut,
    MatchIn,
    MyPeerSupportOut,
    OfferAnswerIn,
    OfferOut,
    PeerSupporterIn,
    PeerSupporterOut,
    RequestOut,
    SuggestionOut,
)
from server.scheduling.api import CONFIG_KEY

router = Router("pathways")
STAFF = (OrgRole.COORDINATOR, OrgRole.ADMIN)


def _now() -> datetime:
    return datetime.now(UTC)


def _notifier(ctx: Ctx) -> Notifier:
    return ctx.request.app[NOTIFIER_KEY]


async def _refused(ctx: Ctx, action: str, target: str, err: CircleError) -> CircleError:
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


async def _is_staff(ctx: Ctx, s: AsyncSession, org_id: int) -> bool:
    return bool(await ctx.org_roles(s, org_id) & set(STAFF))


async def _request(ctx: Ctx, s: AsyncSession, action: str, *, peer_ok: bool) -> PeerOffer:
    """An opted-in request, for a coordinator of its organisation (or its peer, if allowed)."""
    offer_id = ctx.path_int("offer_id")
    offer = await s.get(PeerOffer, offer_id)
    if offer is not None and offer.status not in (OfferStatus.OFFERED, OfferStatus.DECLINED):
        if await _is_staff(ctx, s, offer.organisation_id):
            return offer
        if peer_ok and offer.peer_id == ctx.me().id:
            return offer
    raise await ctx.refuse(action, f"peer_offer:{offer_id}", "not a request you may act on")


async def _count(s: AsyncSession, offer: PeerOffer) -> int:
    return conversations.counted(await conversations.sessions_of(s, offer))[0]


async def _name(s: AsyncSession, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    p = await s.get(Person, person_id)
    return p.display_name if p is not None else None


async def _offer_out(s: AsyncSession, o: PeerOffer) -> OfferOut:
    return OfferOut(
        id=o.id,
        status=o.status,
        created_at=o.created_at,
        answered_at=o.answered_at,
        consent_contact=o.consent_contact,
        reason=o.decline_reason,
        note=o.decline_note,
        peer_name=await _name(s, o.peer_id) if o.status is OfferStatus.MATCHED else None,
        window_ends_at=o.window_ends_at,
        conversations=await _count(s, o),
        max_conversations=conversations.MAX_CONVERSATIONS,
    )


async def _request_out(s: AsyncSession, o: PeerOffer) -> RequestOut:
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
        peer_name=await _name(s, o.peer_id),
        window_ends_at=o.window_ends_at,
        group_id=o.group_id,
        series_id=o.series_id,
        conversations=await _count(s, o),
    )


# -- the person --------------------------------------------------------------------------------


@router.get(
    "/api/me/peer-support",
    response=MyPeerSupportOut,
    summary="My peer-support offers, and the requests I am the proposed or matched peer of",
)
async def my_peer_support(ctx: Ctx) -> MyPeerSupportOut:
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        mine = await s.scalars(
            select(PeerOffer).where(PeerOffer.person_id == me.id).order_by(PeerOffer.id.desc())
        )
        as_peer = await s.scalars(
            select(PeerOffer)
            .where(
                PeerOffer.peer_id == me.id,
                PeerOffer.status.in_(
                    [OfferStatus.PROPOSED, OfferStatus.MATCHED, OfferStatus.CLOSED]
                ),
            )
            .order_by(PeerOffer.id.desc())
        )
        return MyPeerSupportOut(
            offers=[await _offer_out(s, o) for o in mine],
            as_peer=[
                AsPeerOut(
                    id=o.id,
                    status=o.status,
                    colleague_name=await _name(s, o.person_id) or "",
                    window_ends_at=o.window_ends_at,
                    conversations=await _count(s, o),
                )
                for o in as_peer
            ],
        )


@router.get(
    "/api/peer-support/offers/{offer_id}",
    response=OfferOut,
    errors=(404,),
    summary="One of my peer-support offers (nobody else's: 404, audited)",
)
async def get_offer(ctx: Ctx) -> OfferOut:
    offer_id = ctx.path_int("offer_id")
    async with ctx.sessionmaker() as s:
        offer = await offers.own_offer(s, offer_id, ctx.me().id)
        if offer is not None:
            return await _offer_out(s, offer)
    await ctx.refuse("peer_offer.read", f"peer_offer:{offer_id}", "not yours")
    raise NotFound("no such offer")


@router.post(
    "/api/peer-support/offers/{offer_id}/answer",
    body=OfferAnswerIn,
    response=OfferOut,
    errors=(404, 409),
    summary="Answer my offer: accept with consent to be contacted, or decline (reason optional)",
)
async def answer_offer(ctx: Ctx, body: OfferAnswerIn) -> OfferOut:
    offer_id = ctx.path_int("offer_id")
    try:
        async with ctx.sessionmaker() as s, s.begin():
            offer = await offers.own_offer(s, offer_id, ctx.me().id)
            if offer is None:
                await ctx.refuse("peer_offer.answer", f"peer_offer:{offer_id}", "not yours")
                raise NotFound("no such offer")
            await offers.answer(
                s,
                offer,
                accept=body.accept,
                consent_contact=body.consent_contact,
                reason=body.reason,
                note=body.note,
                now=_now(),
            )
            return await _offer_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await _refused(ctx, "peer_offer.answer", f"peer_offer:{offer_id}", exc) from None


# -- coordinators --------------------------------------------------------------------------------


@router.get(
    "/api/organisations/{org_id}/peer-support/requests",
    response=list[RequestOut],
    errors=(403,),
    summary="Opted-in peer-support requests of the organisation, to match (coordinators)",
)
async def list_requests(ctx: Ctx) -> list[RequestOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF, action="peer_request.list")
        rows = await s.scalars(
            select(PeerOffer)
            .where(
                PeerOffer.organisation_id == org_id,
                PeerOffer.status.not_in([OfferStatus.OFFERED, OfferStatus.DECLINED]),
            )
            .order_by(PeerOffer.answered_at, PeerOffer.id)
            .limit(1000)
        )
        return [await _request_out(s, o) for o in rows]


@router.get(
    "/api/organisations/{org_id}/peer-support/declines",
    response=DeclinesOut,
    errors=(403,),
    summary="Declined offers as counts per reason (no names, no notes; coordinators)",
)
async def declines(ctx: Ctx) -> DeclinesOut:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF, action="peer_request.declines")
        return DeclinesOut(reasons=await offers.reasons_summary(s, org_id))


@router.get(
    "/api/peer-support/requests/{offer_id}/suggestions",
    response=list[SuggestionOut],
    errors=(403,),
    summary="Trained peers for a request: same profession first, never the same department",
)
async def suggest(ctx: Ctx) -> list[SuggestionOut]:
    async with ctx.sessionmaker() as s:
        offer = await _request(ctx, s, "peer_match.suggest", peer_ok=False)
        return [
            SuggestionOut(
                person_id=x.candidate.person_id,
                display_name=x.candidate.display_name,
                profession=x.candidate.profession,
                department=x.candidate.department,
                availability=x.candidate.availability,
                open_pathways=x.candidate.open_pathways,
                same_profession=x.same_profession,
                other_department=x.other_department,
            )
            for x in await matching.suggestions(s, offer)
        ]


@router.post(
    "/api/peer-support/requests/{offer_id}/match",
    body=MatchIn,
    response=RequestOut,
    errors=(403, 409),
    summary="Propose a trained peer (confirm: true confirms at once); never the colleague",
)
async def match(ctx: Ctx, body: MatchIn) -> RequestOut:
    target = f"peer_offer:{ctx.path_int('offer_id')}"
    try:
        async with ctx.sessionmaker() as s, s.begin():
            offer = await _request(ctx, s, "peer_match.propose", peer_ok=False)
            problem = await matching.check_peer(s, offer, body.peer_id)
            if problem is not None:
                raise UserError(f"peer_id: {problem}", field="peer_id")
            await matching.propose(
                s,
                offer,
                body.peer_id,
                actor_id=ctx.me().id,
                confirm=body.confirm,
                notifier=_notifier(ctx),
                public_url=ctx.settings.public_url,
                window_days=ctx.settings.peer_support_window_days,
                now=_now(),
            )
            return await _request_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await _refused(ctx, "peer_match.propose", target, exc) from None


@router.post(
    "/api/peer-support/requests/{offer_id}/confirm",
    body=ConfirmIn,
    response=RequestOut,
    errors=(403, 409),
    summary="The proposed peer (or a coordinator) confirms the match, or declines it",
)
async def confirm(ctx: Ctx, body: ConfirmIn) -> RequestOut:
    target = f"peer_offer:{ctx.path_int('offer_id')}"
    try:
        async with ctx.sessionmaker() as s, s.begin():
            offer = await _request(ctx, s, "peer_match.confirm", peer_ok=True)
            if body.accept:
                await matching.confirm_match(
                    s,
                    offer,
                    actor_id=ctx.me().id,
                    notifier=_notifier(ctx),
                    public_url=ctx.settings.public_url,
                    window_days=ctx.settings.peer_support_window_days,
                    now=_now(),
                )
            else:
                await matching.withdraw_proposal(s, offer, ctx.me().id, _now())
            return await _request_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await _refused(ctx, "peer_match.confirm", target, exc) from None


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
    now = _now()
    try:
        async with ctx.sessionmaker() as s, s.begin():
            offer = await _request(ctx, s, "peer_conversation.book", peer_ok=True)
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
                now=now,
            )
            if refusal is not None:
                raise Conflict(f"{refusal.field}: {refusal.message}", field=refusal.field)
            sess = await conversations.book(
                s, offer, req, actor_id=ctx.me().id, cfg=ctx.request.app[CONFIG_KEY], now=now
            )
            return ConversationOut(
                session_id=sess.id,
                index=sess.index,
                starts_at=sess.starts_at,
                duration_minutes=sess.duration_minutes,
                status=sess.status,
            )
    except (UserError, Conflict) as exc:
        raise await _refused(ctx, "peer_conversation.book", target, exc) from None


async def _party(ctx: Ctx, s: AsyncSession, action: str) -> PeerOffer:
    """The request, for its colleague, its peer or a coordinator."""
    offer_id = ctx.path_int("offer_id")
    offer = await s.get(PeerOffer, offer_id)
    if offer is not None and ctx.me().id == offer.person_id:
        return offer
    return await _request(ctx, s, action, peer_ok=True)


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
        offer.updated_at = _now()
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="peer_pathway.close",
            target=f"peer_offer:{offer.id}",
            outcome=AuditOutcome.ALLOWED,
        )
        return await _request_out(s, offer)


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
            s, offer, sess, side, me.id, helpful=body.helpful, comment=body.comment, now=_now()
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
        row.availability, row.active, row.updated_at = body.availability, body.active, _now()
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
