"""One offer at a time: the listener queues one offer per response at or above the cut-off, none
while the person's earlier offer is open, and a new one after a decline; each offer's mail goes
to the person alone. On SQLite and PostgreSQL (the listener runs in the submission's
transaction, as the REST submission calls it)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from server.db.engine import Database
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.pathways.models import OfferStatus, PeerOffer
from server.pathways.offers import OfferListener, OfferRule
from server.questionnaires.forms import record_submission
from server.questionnaires.models import Timepoint
from server.questionnaires.registry import load_registry
from server.questionnaires.submitted import Submitted
from tests.foundation.seed import World, seed

BAT = load_registry().get("bat")


async def _submit(db: Database, w: World, person: int, value: int, tp: Timepoint) -> None:
    listener = OfferListener(OfferRule(cutoff=2.59, public_url="http://x"))
    now = datetime.now(UTC)
    async with db.sessionmaker() as s, s.begin():
        r, scores = await record_submission(
            s,
            BAT,
            person_id=person,
            organisation_id=w.org_id,
            series_id=w.series_id,
            timepoint=tp,
            answers={f"item_{n}": value for n in range(1, 24)},
        )
        sub = Submitted(
            r.id, person, r.organisation_id, r.series_id, "bat", tp.value, scores.total, None
        )
        await listener(s, sub, OutboxNotifier(), now)


async def _offers(db: Database, person: int) -> list[PeerOffer]:
    async with db.sessionmaker() as s:
        rows = await s.scalars(
            select(PeerOffer).where(PeerOffer.person_id == person).order_by(PeerOffer.id)
        )
        return list(rows)


async def test_one_open_offer_at_a_time(db_url: str) -> None:
    w = await seed(db_url, members=2, with_password=False)
    m0, m1 = w.member_ids
    db = Database(db_url)
    try:
        await _submit(db, w, m0, 3, Timepoint.PRE)
        await _submit(db, w, m1, 2, Timepoint.PRE)  # mean 2.0: below the cut-off
        await _submit(db, w, m0, 5, Timepoint.POST)  # still open: nothing new
        (offer,) = await _offers(db, m0)
        assert offer.status is OfferStatus.OFFERED and offer.score == 3.0
        assert await _offers(db, m1) == []
        async with db.sessionmaker() as s, s.begin():
            got = await s.get(PeerOffer, offer.id)
            assert got is not None
            got.status = OfferStatus.DECLINED
        await _submit(db, w, m0, 4, Timepoint.FOLLOWUP)  # after a decline, a later result may
        assert [o.status for o in await _offers(db, m0)] == [
            OfferStatus.DECLINED,
            OfferStatus.OFFERED,
        ]
        async with db.sessionmaker() as s:
            mails = list(
                await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "peer_offer"))
            )
        assert [m.person_id for m in mails] == [m0, m0]
        assert all(m.organisation_id is None and "3.0" not in m.body for m in mails)
    finally:
        await db.dispose()
