"""REST: outcome reports and the research export, for researchers, coordinators and admins of
the organisation that owns the series, group or cohort. Every read is audited; a refusal too.

GET /api/outcomes?series=ID|group=ID|organisation=ID[&protocol=P]|cohort=ID[&profession=X]
    [&format=json|csv|md][&points=true]
GET /api/outcomes/export?<same scope>&format=csv|sav
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from server import audit
from server.api.context import MAX_ID, Ctx
from server.api.routing import Router
from server.domain import RESEARCH_ROLES, AuditOutcome, ProtocolKind
from server.questionnaires import export, grants, outcomes, render, scopes
from server.questionnaires.keys import INSTRUMENTS_KEY
from server.questionnaires.outcomes import Scope
from server.questionnaires.registry import Registry

router = Router("outcomes")
Id = Annotated[int, Field(gt=0, le=MAX_ID)]


class ScopeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: Id | None = None
    group: Id | None = None
    organisation: Id | None = None
    cohort: Id | None = None
    protocol: ProtocolKind | None = None
    profession: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None


class OutcomesQuery(ScopeQuery):
    format: Literal["json", "csv", "md"] = "json"
    points: bool = False


class ExportQuery(ScopeQuery):
    format: Literal["csv", "sav"] = "csv"


async def _authorised_scope(ctx: Ctx, q: ScopeQuery, action: str) -> Scope:
    async with ctx.sessionmaker() as s:
        scope = await scopes.resolve(
            s,
            series=q.series,
            group=q.group,
            organisation=q.organisation,
            cohort=q.cohort,
            protocol=q.protocol,
            profession=q.profession,
        )
        allowed = bool((await ctx.org_roles(s, scope.organisation_id)) & RESEARCH_ROLES)
        if not allowed and not await grants.covers(s, ctx.me().id, scope):
            raise await ctx.refuse(
                action,
                f"{scope.kind}:{scope.id}",
                "only researchers (of this organisation or this study), coordinators and admins",
            )
    return scope


async def _audit_read(ctx: Ctx, action: str, scope: Scope, **details: Any) -> None:
    await audit.record_now(
        ctx.sessionmaker,
        actor_id=ctx.me().id,
        action=action,
        target=f"{scope.kind}:{scope.id}",
        outcome=AuditOutcome.ALLOWED,
        details={k: v for k, v in details.items() if v is not None},
    )


def _registry(ctx: Ctx) -> Registry:
    return ctx.request.app[INSTRUMENTS_KEY]


@router.get(
    "/api/outcomes",
    query=OutcomesQuery,
    response=dict[str, Any],
    errors=(403, 404),
    summary="Outcome report (pseudonymous; researchers, coordinators, admins; audited)",
)
async def get_outcomes(ctx: Ctx, q: OutcomesQuery) -> Any:
    """Per instrument, score and comparison (pre/post, pre/follow-up): n_pairs, means and SDs,
    mean change with 95% CI, Wilcoxon (W, z, asymptotic and exact p), paired t, d_z,
    rank-biserial and reliable-change counts; completion per timepoint. Methods:
    docs/questionnaires.md."""
    scope = await _authorised_scope(ctx, q, "outcomes.read")
    async with ctx.sessionmaker() as s:
        obs = await outcomes.load(s, scope)
    report = outcomes.build(scope, obs, _registry(ctx), points=q.points)
    await _audit_read(
        ctx, "outcomes.read", scope, format=q.format, profession=q.profession, points=q.points
    )
    if q.format == "csv":
        return web.Response(text=render.to_csv(report), content_type="text/csv", charset="utf-8")
    if q.format == "md":
        return web.Response(
            text=render.to_markdown(report), content_type="text/markdown", charset="utf-8"
        )
    return report


@router.get(
    "/api/outcomes/export",
    query=ExportQuery,
    response=str,
    content_type="text/csv",
    errors=(403, 404),
    summary="Research export, CSV or SPSS .sav (consenting people, pseudonymous; audited)",
)
async def get_export(ctx: Ctx, q: ExportQuery) -> web.Response:
    """One row per pseudonymous person and series (or cohort): instrument versions, scores and
    item answers per timepoint. Only people whose research consent is in force."""
    scope = await _authorised_scope(ctx, q, "outcomes.export")
    async with ctx.sessionmaker() as s:
        data = await export.dataset(s, scope)
    await _audit_read(ctx, "outcomes.export", scope, format=q.format, rows=len(data.rows))
    name = f"outcomes-{scope.kind}-{scope.id}"
    if q.format == "sav":
        return web.Response(
            body=export.to_sav(data),
            content_type="application/x-spss-sav",
            headers={"Content-Disposition": f'attachment; filename="{name}.sav"'},
        )
    return web.Response(
        text=export.to_csv(data),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
