"""Study-scoped research access: a researcher granted one imported cohort or one group (all its
series) reads that study's pseudonymous outcomes and exports, and nothing else."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Group, Person, Series
from server.domain import AuditOutcome
from server.errors import NotFound, UserError
from server.questionnaires.models import Cohort, ResearchGrant
from server.questionnaires.outcomes import Scope


async def covers(s: AsyncSession, person_id: int, scope: Scope) -> bool:
    """Does a grant of this person cover the scope? (Organisation-wide scopes never.)"""
    q = select(ResearchGrant.id).where(ResearchGrant.person_id == person_id)
    if scope.kind == "cohort":
        q = q.where(ResearchGrant.cohort_id == scope.id)
    elif scope.kind == "group":
        q = q.where(ResearchGrant.group_id == scope.id)
    elif scope.kind == "series":
        group_id = select(Series.group_id).where(Series.id == scope.id).scalar_subquery()
        q = q.where(ResearchGrant.group_id == group_id)
    else:
        return False
    return await s.scalar(q.limit(1)) is not None


async def _study(
    s: AsyncSession, email: str, cohort_id: int | None, group_id: int | None
) -> tuple[Person, int]:
    if (cohort_id is None) == (group_id is None):
        raise UserError("give exactly one of --cohort and --group", field="study")
    person = await s.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None:
        raise NotFound("no person with that e-mail address", field="email")
    study = await s.get(Cohort, cohort_id) if cohort_id else await s.get(Group, group_id)
    if study is None:
        raise NotFound("no such cohort" if cohort_id else "no such group")
    if study.organisation_id != person.organisation_id:
        raise UserError("the person and the study belong to different organisations", field="email")
    return person, study.organisation_id


async def grant(
    s: AsyncSession, *, email: str, cohort_id: int | None = None, group_id: int | None = None
) -> bool:
    """Grant access (idempotent); returns False if it was already granted. Audited."""
    person, org_id = await _study(s, email, cohort_id, group_id)
    existing = await s.scalar(
        select(ResearchGrant.id).where(
            ResearchGrant.person_id == person.id,
            ResearchGrant.cohort_id.is_(None)
            if cohort_id is None
            else ResearchGrant.cohort_id == cohort_id,
            ResearchGrant.group_id.is_(None)
            if group_id is None
            else ResearchGrant.group_id == group_id,
        )
    )
    if existing is not None:
        return False
    s.add(
        ResearchGrant(
            person_id=person.id, organisation_id=org_id, cohort_id=cohort_id, group_id=group_id
        )
    )
    await audit.record(
        s,
        actor_id=None,
        action="research.grant",
        target=f"cohort:{cohort_id}" if cohort_id else f"group:{group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"person_id": person.id, "via": "cli"},
    )
    return True


async def revoke(
    s: AsyncSession, *, email: str, cohort_id: int | None = None, group_id: int | None = None
) -> int:
    person, _ = await _study(s, email, cohort_id, group_id)
    q = delete(ResearchGrant).where(ResearchGrant.person_id == person.id)
    q = q.where(
        ResearchGrant.cohort_id == cohort_id if cohort_id else ResearchGrant.group_id == group_id
    )
    n = int((await s.execute(q)).rowcount or 0)  # type: ignore[attr-defined]
    await audit.record(
        s,
        actor_id=None,
        action="research.revoke",
        target=f"cohort:{cohort_id}" if cohort_id else f"group:{group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"person_id": person.id, "removed": n, "via": "cli"},
    )
    return n
