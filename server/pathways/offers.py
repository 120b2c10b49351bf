"""Peer support as a pathway (shared/seeds/002): a Burnout Assessment Tool result at or above
the organisation's cut-off queues ONE offer to that person, never an enrolment; the person
opts in (with consent to be contacted) or declines, optionally saying why.

The offer is the person's alone: nobody else reads it. Only an opt-in with consent reaches the
coordinator (who needs it to find a peer); a decline reaches coordinators only as counts per
reason chosen (``reasons_summary``), never by name and never with the person's own words. This module is the one writer of an offer's
status up to the opt-in; matching.py takes it from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Person
from server.domain import AuditOutcome
from server.errors import Conflict, NotFound, UserError
from server.notify.mailer import Notifier
from server.pages import pathways_page
from server.pathways.mail import PathMail, tell
from server.pathways.models import OPEN_STATUSES, DeclineReason, OfferStatus, PeerOffer
from server.questionnaires.submitted import Submitted

log = logging.getLogger("circle.pathways")
BAT = "bat"


@dataclass(frozen=True, slots=True)
class OfferRule:
    """Which result queues an offer: the instrument's total at or above ``cutoff``."""

    cutoff: float
    public_url: str
    instrument: str = BAT

    def triggers(self, sub: Submitted) -> bool:
        return (
            sub.instrument == self.instrument and sub.total is not None and sub.total >= self.cutoff
        )


class OfferListener:
    """The questionnaire side's ``SubmissionListener``: queue one offer, or nothing."""

    def __init__(self, rule: OfferRule) -> None:
        self.rule = rule

    async def __call__(
        self, s: AsyncSession, sub: Submitted, notifier: Notifier, now: datetime
    ) -> None:
        if not self.rule.triggers(sub):
            return
        assert sub.total is not None
        await queue_offer(s, sub, sub.total, self.rule, notifier, now)


async def queue_offer(
    s: AsyncSession,
    sub: Submitted,
    score: float,
    rule: OfferRule,
    notifier: Notifier,
    now: datetime,
) -> PeerOffer | None:
    """One offer per response, and none while another offer of the person's is open."""
    already = await s.scalar(
        select(func.count())
        .select_from(PeerOffer)
        .where(
            PeerOffer.person_id == sub.person_id,
            (PeerOffer.status.in_(OPEN_STATUSES)) | (PeerOffer.response_id == sub.response_id),
        )
    )
    if already:
        return None
    person = await s.get(Person, sub.person_id)
    if person is None or not person.is_active:
        return None
    offer = PeerOffer(
        organisation_id=sub.organisation_id,
        person_id=sub.person_id,
        response_id=sub.response_id,
        instrument=sub.instrument,
        score=score,
        cutoff=rule.cutoff,
        status=OfferStatus.OFFERED,
        created_at=now,
        updated_at=now,
    )
    s.add(offer)
    await s.flush()
    await tell(
        s,
        notifier,
        PathMail.PEER_OFFER,
        person,
        now,
        link=pathways_page(rule.public_url, f"offer={offer.id}"),
    )
    await audit.record(
        s,
        actor_id=None,
        action="peer_offer.queue",
        target=f"person:{sub.person_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"offer": offer.id, "instrument": sub.instrument},
    )
    log.info("peer-support offer %s queued for person %s", offer.id, sub.person_id)
    return offer


async def own_offer(s: AsyncSession, offer_id: int, person_id: int) -> PeerOffer | None:
    offer = await s.get(PeerOffer, offer_id)
    return offer if offer is not None and offer.person_id == person_id else None


async def answer(
    s: AsyncSession,
    offer: PeerOffer,
    *,
    accept: bool,
    consent_contact: bool,
    reason: DeclineReason | None,
    note: str | None,
    now: datetime,
) -> PeerOffer:
    """The person's answer. Accepting needs consent to be contacted (``consent_contact``);
    a reason goes only with a decline. An offer is answered once."""
    if offer.status is not OfferStatus.OFFERED:
        raise Conflict(f"this offer was already answered ({offer.status.value})", field="status")
    if accept and not consent_contact:
        raise UserError(
            "consent_contact: accepting needs your consent to be contacted",
            field="consent_contact",
        )
    if accept and (reason is not None or note is not None):
        field = "reason" if reason is not None else "note"
        raise UserError(f"{field}: a reason goes only with a decline", field=field)
    offer.status = OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED
    offer.consent_contact = accept and consent_contact
    offer.decline_reason = None if accept else reason
    offer.decline_note = None if accept else note
    offer.answered_at = now
    offer.updated_at = now
    await audit.record(
        s,
        actor_id=offer.person_id,
        action="peer_offer.accept" if accept else "peer_offer.decline",
        target=f"peer_offer:{offer.id}",
        outcome=AuditOutcome.ALLOWED,
    )
    return offer


async def require_offer(s: AsyncSession, offer_id: int) -> PeerOffer:
    offer = await s.get(PeerOffer, offer_id)
    if offer is None:
        raise NotFound("no such peer-support request")
    return offer


async def reasons_summary(s: AsyncSession, organisation_id: int) -> dict[str, int]:
    """Declines of the organisation as counts per reason given (no names): why people did not
    join (002 reports this)."""
    rows = await s.execute(
        select(PeerOffer.decline_reason, func.count())
        .where(
            PeerOffer.organisation_id == organisation_id,
            PeerOffer.status == OfferStatus.DECLINED,
        )
        .group_by(PeerOffer.decline_reason)
    )
    return {(reason.value if reason else "none_given"): int(n) for reason, n in rows.all()}
