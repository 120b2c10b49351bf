"""REST for a person's rights over their data: export, asking for erasure, carrying it out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.api.routing import Router
from server.audit import record
from server.db.models import Person, PersonRole
from server.domain import STAFF_ROLES, AuditOutcome, OrgRole
from server.privacy import service
from server.privacy.models import PrivacyRequest, RequestKind

router = Router("privacy")


class PrivacyRequestOut(BaseModel):
    id: int
    person_id: int
    kind: RequestKind
    requested_at: datetime
    done_at: datetime | None
    report: dict[str, Any]


class ErasureReportOut(BaseModel):
    person_id: int
    erased_at: str
    deleted: dict[str, int]
    pseudonymised: dict[str, int]
    kept: list[dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def _download(data: dict[str, Any], person_id: int) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=2).encode(),
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="personal-data-{person_id}.json"',
            "Cache-Control": "no-store",
        },
    )


async def _staff_over(ctx: Ctx, s: AsyncSession, person: Person, action: str) -> None:
    """Coordinators and admins of the person's organisation; only admins for a person who
    holds an organisation role."""
    roles = await ctx.org_roles(s, person.organisation_id)
    if not roles & set(STAFF_ROLES):
        raise await ctx.refuse(action, f"person:{person.id}", "only this organisation's staff may")
    has_role = await s.scalar(select(PersonRole.id).where(PersonRole.person_id == person.id))
    if has_role and OrgRole.ADMIN not in roles:
        raise await ctx.refuse(
            action, f"person:{person.id}", "only an admin may do this for a person with a role"
        )


@router.get(
    "/api/me/data",
    response=dict[str, Any],
    summary="Download everything held about me (JSON)",
    description="Every holding of docs/privacy.md with its purpose, retention and rows; "
    "secrets (password and token hashes) are never included.",
)
async def my_data(ctx: Ctx) -> web.Response:
    me = ctx.me()
    async with ctx.sessionmaker() as s, s.begin():
        data = await service.export_person(s, await service.load(s, me.id), _now())
        await record(
            s,
            actor_id=me.id,
            action="privacy.export",
            target=f"person:{me.id}",
            outcome=AuditOutcome.ALLOWED,
        )
    return _download(data, me.id)


@router.post(
    "/api/me/erasure-request",
    response=PrivacyRequestOut,
    status=201,
    summary="Ask for my data to be erased",
    description="Recorded and shown to the organisation's coordinators, who carry it out; "
    "asking again returns the open request.",
)
async def ask_erasure(ctx: Ctx) -> PrivacyRequestOut:
    me = ctx.me()
    async with ctx.sessionmaker() as s, s.begin():
        req = await service.request_erasure(s, await service.load(s, me.id), _now())
    return PrivacyRequestOut.model_validate(req, from_attributes=True)


@router.get(
    "/api/organisations/{org_id}/privacy-requests",
    response=list[PrivacyRequestOut],
    summary="Privacy requests of the organisation's people (coordinators)",
)
async def list_requests(ctx: Ctx) -> list[PrivacyRequestOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="privacy.list")
        rows = await s.scalars(
            select(PrivacyRequest)
            .join(Person, Person.id == PrivacyRequest.person_id)
            .where(Person.organisation_id == org_id)
            .order_by(PrivacyRequest.done_at.is_not(None), PrivacyRequest.id)
        )
        return [PrivacyRequestOut.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/api/people/{person_id}/data",
    response=dict[str, Any],
    summary="Export everything held about a person (coordinators of their organisation)",
)
async def person_data(ctx: Ctx) -> web.Response:
    pid = ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        person = await service.load(s, pid)
        await _staff_over(ctx, s, person, "privacy.export")
        data = await service.export_person(s, person, _now())
        await record(
            s,
            actor_id=ctx.me().id,
            action="privacy.export",
            target=f"person:{pid}",
            outcome=AuditOutcome.ALLOWED,
        )
    return _download(data, pid)


@router.post(
    "/api/people/{person_id}/erase",
    response=ErasureReportOut,
    summary="Erase a person's data (coordinators; admins for people with a role)",
    description="Deletes or pseudonymises every holding and says what was kept and why. "
    "The account row stays as a pseudonym so groups' records stay whole.",
)
async def erase(ctx: Ctx) -> ErasureReportOut:
    pid = ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        person = await service.load(s, pid)
        await _staff_over(ctx, s, person, "privacy.erase")
        report = await service.erase_person(s, person, actor_id=ctx.me().id, now=_now())
    return ErasureReportOut.model_validate(report)
