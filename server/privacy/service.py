"""Export and erasure of one person's data, walking the holdings table."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.models import Person
from server.domain import AuditOutcome
from server.errors import NotFound
from server.privacy.holdings import HOLDINGS, is_erased
from server.privacy.models import PrivacyRequest, RequestKind

log = logging.getLogger("circle.privacy")
EXPORT_FORMAT = "healers-circle/personal-data/1"


async def load(s: AsyncSession, person_id: int) -> Person:
    person = await s.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


async def export_person(s: AsyncSession, person: Person, now: datetime) -> dict[str, Any]:
    """Everything held about ``person``, machine-readable (GDPR art. 15 and 20)."""
    data: dict[str, Any] = {}
    for h in HOLDINGS:
        data[h.name] = {
            "purpose": h.purpose,
            "retention": h.retention,
            "rows": await h.export(s, person),
        }
    return {
        "format": EXPORT_FORMAT,
        "person_id": person.id,
        "exported_at": now.isoformat(),
        "holdings": data,
    }


async def request_erasure(s: AsyncSession, person: Person, now: datetime) -> PrivacyRequest:
    """The person asks; an open request is returned again rather than doubled."""
    open_one = await s.scalar(
        select(PrivacyRequest).where(
            PrivacyRequest.person_id == person.id,
            PrivacyRequest.kind == RequestKind.ERASURE,
            PrivacyRequest.done_at.is_(None),
        )
    )
    if open_one is not None:
        return open_one
    req = PrivacyRequest(person_id=person.id, kind=RequestKind.ERASURE, requested_at=now)
    s.add(req)
    await s.flush()
    await record(
        s,
        actor_id=person.id,
        action="privacy.erasure_requested",
        target=f"person:{person.id}",
        outcome=AuditOutcome.ALLOWED,
    )
    return req


async def erase_person(
    s: AsyncSession, person: Person, *, actor_id: int | None, now: datetime
) -> dict[str, Any]:
    """Delete or pseudonymise every holding; return what was done to each and why anything
    was kept. Idempotent: erasing an erased person changes nothing more."""
    report: dict[str, Any] = {"person_id": person.id, "erased_at": now.isoformat()}
    deleted: dict[str, int] = {}
    pseudonymised: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    # The account row goes last: other holdings find their rows by its address first.
    for h in sorted(HOLDINGS, key=lambda h: h.name == "people"):
        out = await h.erase(s, person, now)
        if out.action == "deleted":
            deleted[h.name] = out.rows
        elif out.action == "pseudonymised":
            pseudonymised[h.name] = out.rows
            if out.why:
                kept.append({"holding": h.name, "rows": out.rows, "why": out.why})
        else:
            kept.append({"holding": h.name, "rows": out.rows, "why": out.why})
    report |= {"deleted": deleted, "pseudonymised": pseudonymised, "kept": kept}
    await s.flush()
    pending = await s.scalars(
        select(PrivacyRequest).where(
            PrivacyRequest.person_id == person.id, PrivacyRequest.done_at.is_(None)
        )
    )
    for req in pending:
        req.done_at, req.done_by, req.report = now, actor_id, report
    await record(
        s,
        actor_id=actor_id,
        action="privacy.erase",
        target=f"person:{person.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"deleted": deleted, "pseudonymised": pseudonymised},
    )
    log.info("person %s erased by %s", person.id, actor_id)
    assert is_erased(person)
    return report
