"""REST: a series' scores (the group's and each member's, term by term) and the score inputs a
coordinator enters by hand (audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.attendance.access import group_access
from server.attendance.models import ScoreEntry
from server.db.models import Group, Person, Series
from server.domain import STAFF_ROLES, AuditOutcome
from server.errors import NotFound, UserError
from server.scores.formula import Kind
from server.scores.inputs import HAND_TERMS, NoQuestionnaires, Questionnaires, series_scores

router = Router("scores")
QUESTIONNAIRES_KEY = web.AppKey("scores_questionnaires", Questionnaires)


class ScoreEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Literal["person", "group"]
    subject_id: int = Field(gt=0, lt=2**31)
    term: str = Field(min_length=1, max_length=1)
    value: float = Field(ge=0, le=1_000_000)
    period_start: date
    period_end: date
    note: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _check(self) -> ScoreEntryIn:
        kind = Kind.INDIVIDUAL if self.subject == "person" else Kind.GROUP
        if self.term not in HAND_TERMS[kind]:
            raise ValueError(
                f"term: a {self.subject}'s score takes by hand only " + ", ".join(HAND_TERMS[kind])
            )
        if self.period_end < self.period_start:
            raise ValueError("period_end: must not be before period_start")
        return self


class ScoreEntryOut(BaseModel):
    id: int
    subject: str
    subject_id: int
    term: str
    value: float
    period_start: date
    period_end: date
    note: str | None
    entered_by: int | None
    entered_at: datetime
    source: Literal["entered by hand"] = "entered by hand"


def _out(e: ScoreEntry) -> ScoreEntryOut:
    return ScoreEntryOut(
        id=e.id,
        subject=e.subject,
        subject_id=e.subject_id,
        term=e.term,
        value=e.value,
        period_start=e.period_start,
        period_end=e.period_end,
        note=e.note,
        entered_by=e.entered_by,
        entered_at=e.entered_at,
    )


@router.get(
    "/api/series/{series_id}/scores",
    response=dict[str, Any],
    summary="The group's score and the members' scores, term by term (members: their own)",
)
async def get_series_scores(ctx: Ctx) -> dict[str, Any]:
    questionnaires: Questionnaires = ctx.request.app.get(QUESTIONNAIRES_KEY) or NoQuestionnaires()
    async with ctx.sessionmaker() as s:
        series = await s.get(Series, ctx.path_int("series_id"))
        if series is None:
            raise NotFound("no such series")
        access = await group_access(ctx, s, series.group_id, "scores.read")
        scores = await series_scores(
            s, series.id, ctx.settings.scores, questionnaires, datetime.now(UTC)
        )
    if not access.sees_everyone:
        scores["members"] = [m for m in scores["members"] if m["person_id"] == access.person_id]
    return scores


async def _subject_org(ctx: Ctx, body: ScoreEntryIn) -> int:
    async with ctx.sessionmaker() as s:
        if body.subject == "person":
            org = await s.scalar(select(Person.organisation_id).where(Person.id == body.subject_id))
        else:
            org = await s.scalar(select(Group.organisation_id).where(Group.id == body.subject_id))
    if org is None:
        raise UserError(f"subject_id: no such {body.subject}", field="subject_id")
    return org


@router.post(
    "/api/organisations/{org_id}/score-entries",
    body=ScoreEntryIn,
    response=ScoreEntryOut,
    status=201,
    summary="Enter a score input the system does not measure (coordinators; audited)",
)
async def post_entry(ctx: Ctx, body: ScoreEntryIn) -> ScoreEntryOut:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="scores.enter")
    if await _subject_org(ctx, body) != org_id:
        raise UserError(
            f"subject_id: no such {body.subject} in this organisation", field="subject_id"
        )
    async with ctx.sessionmaker() as s, s.begin():
        entry = ScoreEntry(**body.model_dump(), entered_by=ctx.me().id)
        s.add(entry)
        await s.flush()
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="scores.enter",
            target=f"{body.subject}:{body.subject_id}",
            outcome=AuditOutcome.ALLOWED,
            details={
                "entry": entry.id,
                "term": body.term,
                "value": body.value,
                "period": [body.period_start.isoformat(), body.period_end.isoformat()],
            },
        )
    return _out(entry)


@router.get(
    "/api/organisations/{org_id}/score-entries",
    response=list[ScoreEntryOut],
    summary="The score inputs entered by hand in an organisation, newest first (coordinators)",
)
async def list_entries(ctx: Ctx) -> list[ScoreEntryOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="scores.entries")
        people = select(Person.id).where(Person.organisation_id == org_id)
        groups = select(Group.id).where(Group.organisation_id == org_id)
        rows = await s.scalars(
            select(ScoreEntry)
            .where(
                ((ScoreEntry.subject == "person") & ScoreEntry.subject_id.in_(people))
                | ((ScoreEntry.subject == "group") & ScoreEntry.subject_id.in_(groups))
            )
            .order_by(ScoreEntry.entered_at.desc(), ScoreEntry.id.desc())
            .limit(500)
        )
        return [_out(e) for e in rows]
