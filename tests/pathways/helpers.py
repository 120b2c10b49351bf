"""Shared by the pathway tests: sign in, people's profession and department, BAT forms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from server.db.engine import Database
from server.db.models import AuditEntry, Person, ScheduledSession
from server.domain import AuditOutcome, SessionStatus
from server.notify.models import OutboxMessage
from tests.conftest import Live
from tests.foundation.seed import PASSWORD
from tests.questionnaires.forms_seed import mailed_links, open_pre_forms

BAT_ITEMS = [f"item_{n}" for n in range(1, 24)]


async def login(live: Live, api_factory: Any, email: str) -> Any:
    api = api_factory(live)
    status, body = await api.post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return api


async def set_people(url: str, values: dict[int, tuple[str | None, str | None]]) -> None:
    """person id -> (profession, department)."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            for pid, (prof, dept) in values.items():
                await s.execute(
                    update(Person).where(Person.id == pid).values(profession=prof, department=dept)
                )
    finally:
        await db.dispose()


async def end_session(url: str, session_id: int) -> None:
    """As the room does when a conversation has been held."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                update(ScheduledSession)
                .where(ScheduledSession.id == session_id)
                .values(status=SessionStatus.ENDED)
            )
    finally:
        await db.dispose()


async def outbox(url: str, kind: str) -> list[OutboxMessage]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(
                await s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == kind)
                    .order_by(OutboxMessage.id)
                )
            )
    finally:
        await db.dispose()


async def refusals(url: str, action: str) -> list[AuditEntry]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(
                await s.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == action, AuditEntry.outcome == AuditOutcome.REFUSED
                    )
                )
            )
    finally:
        await db.dispose()


async def answer_bat(
    live: Live, api_factory: Any, url: str, session_id: int, people: dict[int, int]
) -> dict[int, Any]:
    """Open the pre form (BAT) for each person and submit it with every item at ``value``,
    through the one-click link and REST, as a member does. Returns each person's form client."""
    await open_pre_forms(url, session_id, list(people))
    clients: dict[int, Any] = {}
    for pid, value in people.items():
        (token,) = await mailed_links(url, pid)
        api = api_factory(live)
        status, got = await api.post("/api/forms/redeem", {"token": token})
        assert status == 200, got
        access = {"X-Form-Access": got["access"]}
        for item in BAT_ITEMS:
            status, saved = await api.call(
                "PUT",
                f"/api/forms/{got['form_id']}/answers",
                {"instrument": "bat", "item": item, "value": value},
                headers=access,
            )
            assert status == 200, saved
        status, done = await api.post(f"/api/forms/{got['form_id']}/submit", headers=access)
        assert status == 200 and done["state"] == "submitted", done
        clients[pid] = api
    return clients
