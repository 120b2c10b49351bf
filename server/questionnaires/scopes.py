"""Which responses a report or export covers: a series, a group, an organisation (optionally
one protocol and/or profession) or an imported cohort. Unknown ids are 404s that change nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Organisation, Series
from server.domain import ProtocolKind
from server.errors import NotFound, UserError
from server.questionnaires.models import Cohort
from server.questionnaires.outcomes import Scope


async def resolve(
    s: AsyncSession,
    *,
    series: int | None = None,
    group: int | None = None,
    organisation: int | None = None,
    cohort: int | None = None,
    protocol: ProtocolKind | None = None,
    profession: str | None = None,
) -> Scope:
    if sum(v is not None for v in (series, group, organisation, cohort)) != 1:
        raise UserError("give exactly one of series, group, organisation, cohort", field="scope")
    if protocol is not None and organisation is None:
        raise UserError("protocol: only with organisation", field="protocol")
    if profession is not None and cohort is not None:
        raise UserError("profession: imported cohorts have no professions", field="profession")
    if series is not None:
        row = (
            await s.execute(
                select(Series, Group)
                .join(Group, Group.id == Series.group_id)
                .where(Series.id == series)
            )
        ).first()
        if row is None:
            raise NotFound("no such series")
        ser, grp = row
        return Scope(
            "series", ser.id, grp.organisation_id, f"{grp.name}: {ser.title}", profession=profession
        )
    if group is not None:
        g = await s.get(Group, group)
        if g is None:
            raise NotFound("no such group")
        return Scope("group", g.id, g.organisation_id, g.name, profession=profession)
    if organisation is not None:
        org = await s.get(Organisation, organisation)
        if org is None:
            raise NotFound("no such organisation")
        label = org.name + (f" ({protocol.value})" if protocol else "")
        return Scope(
            "organisation", org.id, org.id, label, protocol=protocol, profession=profession
        )
    assert cohort is not None
    c = await s.get(Cohort, cohort)
    if c is None:
        raise NotFound("no such cohort")
    return Scope("cohort", c.id, c.organisation_id, f"cohort {c.name}")


async def cohort_id(s: AsyncSession, name: str, org_slug: str | None) -> int:
    """A cohort by name (and organisation slug when the name is not unique)."""
    q = (
        select(Cohort.id, Organisation.slug)
        .join(Organisation, Organisation.id == Cohort.organisation_id)
        .where(Cohort.name == name)
    )
    if org_slug is not None:
        q = q.where(Organisation.slug == org_slug)
    rows = (await s.execute(q)).all()
    if not rows:
        raise NotFound(f"no cohort named {name!r}")
    if len(rows) > 1:
        raise UserError(
            f"cohort: {name!r} exists in several organisations; give --org", field="org"
        )
    return int(rows[0][0])
