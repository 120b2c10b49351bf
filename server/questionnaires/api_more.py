"""REST (tag ``questionnaires``): a member's own scores over time, the group leaders' safety
alerts, and a series' questionnaire plan for coordinators."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.db.models import Group, Person, Series
from server.domain import STAFF_ROLES, GroupRole
from server.errors import NotFound, UserError
from server.questionnaires import INSTRUMENTS_KEY
from server.questionnaires.form_api import router
from server.questionnaires.form_models import SafetyAlert, SeriesFormPlan
from server.questionnaires.form_plan import FormPlan
from server.questionnaires.form_schemas import (
    AlertOut,
    BandOut,
    InstrumentScoresOut,
    ScorePointOut,
)
from server.questionnaires.form_views import pick_text
from server.questionnaires.models import QuestionnaireResponse, ResponseStatus
from server.questionnaires.triggers import series_plan

LEADERS = (GroupRole.LEADER, GroupRole.CO_LEADER)


@router.get(
    "/api/me/scores",
    response=list[InstrumentScoresOut],
    summary="My own scores over time, per instrument, with the instrument's bands",
)
async def my_scores(ctx: Ctx) -> list[InstrumentScoresOut]:
    me = ctx.me()
    registry = ctx.request.app[INSTRUMENTS_KEY]
    lang = me.locale or "en"
    async with ctx.sessionmaker() as s:
        rows = await s.scalars(
            select(QuestionnaireResponse)
            .where(
                QuestionnaireResponse.person_id == me.id,
                QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
            )
            .order_by(QuestionnaireResponse.submitted_at, QuestionnaireResponse.id)
        )
        by_inst: dict[str, list[QuestionnaireResponse]] = {}
        for r in rows:
            by_inst.setdefault(r.instrument, []).append(r)
    out: list[InstrumentScoresOut] = []
    for iid, responses in sorted(by_inst.items()):
        if iid not in registry.instruments:
            continue
        inst = registry.get(iid)
        total = inst.total
        bands = total.bands if total is not None else None
        points = [
            ScorePointOut(
                timepoint=r.timepoint,
                series_id=r.series_id,
                submitted_at=r.submitted_at,
                total=(r.scores or {}).get("total"),
                band=(r.scores or {}).get("band"),
                subscales=dict((r.scores or {}).get("subscales") or {}),
            )
            for r in responses
        ]
        out.append(
            InstrumentScoresOut(
                instrument=iid,
                title=(pick_text(inst.title, lang, inst) or (iid, "en"))[0],
                range=total.range if total is not None else None,
                direction=inst.direction.value,
                bands=[
                    BandOut(start=b.from_, label=(pick_text(b.label, lang, inst) or ("", ""))[0])
                    for b in (bands.cuts if bands else [])
                ],
                bands_source=bands.source if bands else None,
                points=points,
            )
        )
    return out


async def _leader_of(ctx: Ctx, s: AsyncSession, group_id: int, action: str) -> Group:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound("no such group")
    if await ctx.group_role(s, group_id) not in LEADERS:
        raise await ctx.refuse(
            action, f"group:{group_id}", "only the group's leaders see its safety alerts"
        )
    return group


def _alert_out(a: SafetyAlert, name: str) -> AlertOut:
    return AlertOut(
        id=a.id,
        group_id=a.group_id,
        person_id=a.person_id,
        person_name=name,
        instrument=a.instrument,
        created_at=a.created_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
    )


@router.get(
    "/api/groups/{group_id}/safety-alerts",
    response=list[AlertOut],
    summary="Safety alerts of the group, newest first (its leaders and co-leaders only)",
)
async def group_alerts(ctx: Ctx) -> list[AlertOut]:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s:
        await _leader_of(ctx, s, group_id, "safety_alert.list")
        rows = await s.execute(
            select(SafetyAlert, Person.display_name)
            .join(Person, Person.id == SafetyAlert.person_id)
            .where(SafetyAlert.group_id == group_id)
            .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc())
            .limit(100)
        )
        return [_alert_out(a, name) for a, name in rows]


@router.post(
    "/api/safety-alerts/{alert_id}/acknowledge",
    response=AlertOut,
    summary="A leader marks a safety alert as seen and acted on",
)
async def acknowledge(ctx: Ctx) -> AlertOut:
    async with ctx.sessionmaker() as s, s.begin():
        alert = await s.get(SafetyAlert, ctx.path_int("alert_id"))
        if alert is None:
            raise NotFound("no such alert")
        await _leader_of(ctx, s, alert.group_id, "safety_alert.acknowledge")
        if alert.acknowledged_at is None:
            alert.acknowledged_at = datetime.now(UTC)
            alert.acknowledged_by = ctx.me().id
        person = await s.get(Person, alert.person_id)
        return _alert_out(alert, person.display_name if person else "")


async def _staff_series(ctx: Ctx, s: AsyncSession, series_id: int, action: str) -> Series:
    series = await s.get(Series, series_id)
    group = await s.get(Group, series.group_id) if series is not None else None
    if series is None or group is None:
        raise NotFound("no such series")
    await ctx.require_org_role(s, group.organisation_id, STAFF_ROLES, action=action)
    return series


@router.get(
    "/api/series/{series_id}/questionnaires",
    response=FormPlan,
    summary="The series' questionnaire plan (the protocol's defaults until changed)",
)
async def get_plan(ctx: Ctx) -> FormPlan:
    async with ctx.sessionmaker() as s:
        series = await _staff_series(ctx, s, ctx.path_int("series_id"), "form_plan.read")
        return await series_plan(s, series)


@router.put(
    "/api/series/{series_id}/questionnaires",
    body=FormPlan,
    response=FormPlan,
    summary="Set the series' questionnaire plan (forms already sent keep their instruments)",
)
async def put_plan(ctx: Ctx, body: FormPlan) -> FormPlan:
    registry = ctx.request.app[INSTRUMENTS_KEY]
    unknown = {
        f"{tp}.instruments": f"unknown instrument {i!r}"
        for tp in ("pre", "post", "followup", "checkin")
        for i in getattr(body, tp).instruments
        if i not in registry.instruments
    }
    if unknown:
        summary = "; ".join(f"{k}: {v}" for k, v in unknown.items())
        raise UserError(f"invalid plan: {summary}", fields=unknown)
    async with ctx.sessionmaker() as s, s.begin():
        series = await _staff_series(ctx, s, ctx.path_int("series_id"), "form_plan.write")
        row = await s.get(SeriesFormPlan, series.id)
        data = body.model_dump(mode="json")
        if row is None:
            s.add(SeriesFormPlan(series_id=series.id, plan=data, updated_by=ctx.me().id))
        else:
            row.plan, row.updated_by, row.updated_at = data, ctx.me().id, datetime.now(UTC)
    return body
