"""REST of the peer-support pathway (tag ``pathways``), the person's and the coordinators'
side: the person's offer and answer; opted-in requests, decline counts, suggestions, the match
and its confirmation. Conversations, evaluations and trained peers: api_conversations.py.

An offer is its person's alone: anybody else asking for it gets 404, and the refusal is
audited. Refused changes (a match to oneself, ...) name the field, change nothing and are
audited.
"""

from __future__ import annotations

from sqlalchemy import select

from server.api.context import Ctx
from server.api.routing import Router
from server.errors import Conflict, NotFound, UserError
from server.pathways import matching, offers
from server.pathways.api_common import (
    STAFF,
    count,
    load_request,
    name,
    notifier,
    now,
    offer_out,
    refused,
    request_out,
)
from server.pathways.models import OfferStatus, PeerOffer
from server.pathways.schemas import (
    AsPeerOut,
    ConfirmIn,
    DeclinesOut,
    MatchIn,
    MyPeerSupportOut,
    OfferAnswerIn,
    OfferOut,
    RequestOut,
    SuggestionOut,
)

router = Router("pathways")


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
            offers=[await offer_out(s, o) for o in mine],
            as_peer=[
                AsPeerOut(
                    id=o.id,
                    status=o.status,
                    colleague_name=await name(s, o.person_id) or "",
                    window_ends_at=o.window_ends_at,
                    conversations=await count(s, o),
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
            return await offer_out(s, offer)
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
                now=now(),
            )
            return await offer_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await refused(ctx, "peer_offer.answer", f"peer_offer:{offer_id}", exc) from None


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
        return [await request_out(s, o) for o in rows]


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
        offer = await load_request(ctx, s, "peer_match.suggest", peer_ok=False)
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
            offer = await load_request(ctx, s, "peer_match.propose", peer_ok=False)
            problem = await matching.check_peer(s, offer, body.peer_id)
            if problem is not None:
                raise UserError(f"peer_id: {problem}", field="peer_id")
            await matching.propose(
                s,
                offer,
                body.peer_id,
                actor_id=ctx.me().id,
                confirm=body.confirm,
                notifier=notifier(ctx),
                public_url=ctx.settings.public_url,
                window_days=ctx.settings.peer_support_window_days,
                now=now(),
            )
            return await request_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await refused(ctx, "peer_match.propose", target, exc) from None


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
            offer = await load_request(ctx, s, "peer_match.confirm", peer_ok=True)
            if body.accept:
                await matching.confirm_match(
                    s,
                    offer,
                    actor_id=ctx.me().id,
                    notifier=notifier(ctx),
                    public_url=ctx.settings.public_url,
                    window_days=ctx.settings.peer_support_window_days,
                    now=now(),
                )
            else:
                await matching.withdraw_proposal(s, offer, ctx.me().id, now())
            return await request_out(s, offer)
    except (UserError, Conflict) as exc:
        raise await refused(ctx, "peer_match.confirm", target, exc) from None
