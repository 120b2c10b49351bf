"""Matching a colleague who opted in with a trained peer (shared/seeds/002: "similar function
but a different department").

``rank`` is pure: trained peers of the organisation, never the colleague themself and never one
of the same department, ranked by the same profession first, then a known different department
before an unknown one, then the fewest open pathways, then name. A coordinator proposes one
(or proposes and confirms at once); the proposed peer (or a coordinator) confirms. A confirmed
match gets its own peer-support group (the peer leads, the colleague is its one member) and a
booking window (``peer_support_window_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Group, Membership, Person
from server.domain import AuditOutcome, GroupRole, ProtocolKind
from server.errors import Conflict
from server.notify.mailer import Notifier
from server.pages import pathways_page
from server.pathways.mail import PathMail, tell
from server.pathways.models import OfferStatus, PeerOffer, PeerSupporter

ACTIVE = (OfferStatus.PROPOSED, OfferStatus.MATCHED)


def _same(a: str | None, b: str | None) -> bool | None:
    """Whether two free-text labels are the same (case and spaces ignored); None if unknown."""
    if not a or not b:
        return None
    return a.strip().casefold() == b.strip().casefold()


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: int
    display_name: str
    profession: str | None
    department: str | None
    availability: str
    open_pathways: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    candidate: Candidate
    same_profession: bool
    other_department: bool | None  # None: a department is not known


def rank(
    colleague_id: int,
    profession: str | None,
    department: str | None,
    candidates: list[Candidate],
) -> list[Suggestion]:
    out: list[Suggestion] = []
    for c in candidates:
        if c.person_id == colleague_id or _same(c.department, department) is True:
            continue
        same_dept = _same(c.department, department)
        out.append(
            Suggestion(
                c,
                same_profession=_same(c.profession, profession) is True,
                other_department=None if same_dept is None else not same_dept,
            )
        )
    out.sort(
        key=lambda x: (
            not x.same_profession,
            x.other_department is not True,
            x.candidate.open_pathways,
            x.candidate.display_name.casefold(),
            x.candidate.person_id,
        )
    )
    return out


async def candidates(s: AsyncSession, organisation_id: int) -> list[Candidate]:
    load = (
        select(PeerOffer.peer_id, func.count().label("n"))
        .where(PeerOffer.status.in_(ACTIVE), PeerOffer.peer_id.is_not(None))
        .group_by(PeerOffer.peer_id)
        .subquery()
    )
    rows = await s.execute(
        select(Person, PeerSupporter.availability, func.coalesce(load.c.n, 0))
        .join(PeerSupporter, PeerSupporter.person_id == Person.id)
        .outerjoin(load, load.c.peer_id == Person.id)
        .where(
            PeerSupporter.organisation_id == organisation_id,
            PeerSupporter.active.is_(True),
            Person.is_active.is_(True),
        )
    )
    return [
        Candidate(p.id, p.display_name, p.profession, p.department, availability, int(n))
        for p, availability, n in rows.all()
    ]


async def suggestions(s: AsyncSession, offer: PeerOffer) -> list[Suggestion]:
    colleague = await s.get(Person, offer.person_id)
    assert colleague is not None
    return rank(
        colleague.id,
        colleague.profession,
        colleague.department,
        await candidates(s, offer.organisation_id),
    )


async def check_peer(s: AsyncSession, offer: PeerOffer, peer_id: int) -> str | None:
    """Why ``peer_id`` cannot be this colleague's peer, or None."""
    if peer_id == offer.person_id:
        return "a colleague cannot be matched with themself"
    trained = await s.get(PeerSupporter, peer_id)
    peer = await s.get(Person, peer_id)
    if (
        trained is None
        or not trained.active
        or trained.organisation_id != offer.organisation_id
        or peer is None
        or not peer.is_active
    ):
        return "not an active trained peer of this organisation"
    colleague = await s.get(Person, offer.person_id)
    assert colleague is not None
    if _same(peer.department, colleague.department) is True:
        return "works in the colleague's own department (peers come from another department)"
    return None


async def propose(
    s: AsyncSession,
    offer: PeerOffer,
    peer_id: int,
    *,
    actor_id: int,
    confirm: bool,
    notifier: Notifier,
    public_url: str,
    window_days: int,
    now: datetime,
) -> PeerOffer:
    if offer.status not in (OfferStatus.ACCEPTED, OfferStatus.PROPOSED):
        raise Conflict(f"status: a {offer.status.value} request cannot be matched", field="status")
    peer = await s.get(Person, peer_id)
    offer.peer_id = peer_id
    offer.proposed_by = actor_id
    offer.status = OfferStatus.PROPOSED
    offer.updated_at = now
    await audit.record(
        s,
        actor_id=actor_id,
        action="peer_match.propose",
        target=f"peer_offer:{offer.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"peer": peer_id},
    )
    if confirm:
        return await confirm_match(
            s,
            offer,
            actor_id=actor_id,
            notifier=notifier,
            public_url=public_url,
            window_days=window_days,
            now=now,
        )
    assert peer is not None
    await tell(
        s,
        notifier,
        PathMail.PEER_PROPOSAL,
        peer,
        now,
        link=pathways_page(public_url, f"match={offer.id}"),
    )
    return offer


async def confirm_match(
    s: AsyncSession,
    offer: PeerOffer,
    *,
    actor_id: int,
    notifier: Notifier,
    public_url: str,
    window_days: int,
    now: datetime,
) -> PeerOffer:
    """The match holds: its group (peer leads, colleague is the one member) and its window."""
    if offer.status is not OfferStatus.PROPOSED or offer.peer_id is None:
        raise Conflict(f"status: a {offer.status.value} request has no proposal", field="status")
    group = Group(
        organisation_id=offer.organisation_id,
        name=f"Peer support {offer.id}",
        protocol=ProtocolKind.PEER_SUPPORT,
        capacity=1,
        min_members=1,
        settings={},
        created_at=now,
    )
    s.add(group)
    await s.flush()
    s.add(Membership(group_id=group.id, person_id=offer.peer_id, role=GroupRole.LEADER))
    s.add(Membership(group_id=group.id, person_id=offer.person_id, role=GroupRole.MEMBER))
    offer.group_id = group.id
    offer.status = OfferStatus.MATCHED
    offer.confirmed_by = actor_id
    offer.matched_at = now
    offer.window_ends_at = now + timedelta(days=window_days)
    offer.updated_at = now
    await s.flush()
    await audit.record(
        s,
        actor_id=actor_id,
        action="peer_match.confirm",
        target=f"peer_offer:{offer.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"peer": offer.peer_id, "group": group.id},
    )
    colleague = await s.get(Person, offer.person_id)
    assert colleague is not None
    await tell(
        s,
        notifier,
        PathMail.PEER_MATCHED,
        colleague,
        now,
        link=pathways_page(public_url, f"offer={offer.id}"),
    )
    return offer


async def withdraw_proposal(
    s: AsyncSession, offer: PeerOffer, actor_id: int, now: datetime
) -> None:
    """The proposed peer declines: the request goes back to be matched with someone else."""
    if offer.status is not OfferStatus.PROPOSED:
        raise Conflict(f"status: a {offer.status.value} request has no proposal", field="status")
    offer.status = OfferStatus.ACCEPTED
    offer.peer_id = None
    offer.updated_at = now
    await audit.record(
        s,
        actor_id=actor_id,
        action="peer_match.decline",
        target=f"peer_offer:{offer.id}",
        outcome=AuditOutcome.ALLOWED,
    )
