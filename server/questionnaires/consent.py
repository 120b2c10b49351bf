"""Research consent, separate from taking part: a member may answer for their own benefit and
decline research use. Consent periods are the instrument side's ``research_consents`` rows
(scope ``research``): giving consent opens a period, a withdrawal closes it (audited), and from
then on the exports leave the person out. Taking part in a group never depends on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Person
from server.domain import AuditOutcome
from server.questionnaires import store
from server.questionnaires.models import ResearchConsent

SCOPE = store.RESEARCH_SCOPE


async def current(s: AsyncSession, person_id: int) -> ResearchConsent | None:
    """The newest consent period of the person (open or withdrawn), if any."""
    found: ResearchConsent | None = await s.scalar(
        select(ResearchConsent)
        .where(ResearchConsent.person_id == person_id, ResearchConsent.scope == SCOPE)
        .order_by(ResearchConsent.given_at.desc(), ResearchConsent.id.desc())
        .limit(1)
    )
    return found


async def give(s: AsyncSession, person: Person, text_version: str, now: datetime) -> None:
    row = await current(s, person.id)
    if row is not None and row.withdrawn_at is None:
        return  # already given: idempotent
    await store.give_consent(
        s,
        person_id=person.id,
        organisation_id=person.organisation_id,
        scope=SCOPE,
        text_version=text_version,
    )
    await audit.record(
        s,
        actor_id=person.id,
        action="research_consent.give",
        target=f"person:{person.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"text_version": text_version},
    )


async def withdraw(s: AsyncSession, person: Person, now: datetime) -> None:
    row = await current(s, person.id)
    if row is None or row.withdrawn_at is not None:
        return
    await store.withdraw_consent(s, person_id=person.id, scope=SCOPE)
    await audit.record(
        s,
        actor_id=person.id,
        action="research_consent.withdraw",
        target=f"person:{person.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"given_at": row.given_at.isoformat()},
    )
