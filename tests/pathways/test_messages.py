"""Members' private messages to their group's leaders between meetings, through REST: the
leaders are told (outbox), other members neither see the message nor are told, non-members and
leaders cannot send, bad input names the field; the retention sweep removes them with the
group's attendance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select

from server.db.engine import Database
from server.pathways.models import LeaderMessage
from server.privacy.retention import RetentionPolicy, sweep
from tests.conftest import Live
from tests.foundation.seed import seed

from .helpers import login, outbox, refusals


async def _count(url: str) -> int:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return int(await s.scalar(select(func.count()).select_from(LeaderMessage)) or 0)
    finally:
        await db.dispose()


async def test_message_to_the_leaders(live_sqlite: Live, sqlite_url: str, api_factory: Any) -> None:
    w = await seed(sqlite_url, members=2, session_in_minutes=120)
    path = f"/api/groups/{w.group_id}/leader-messages"
    m0 = await login(live_sqlite, api_factory, "m0@test.example")
    m1 = await login(live_sqlite, api_factory, "m1@test.example")
    leader = await login(live_sqlite, api_factory, "leader@test.example")
    outsider = await login(live_sqlite, api_factory, "out@test.example")

    for body, field in (({"body": "   "}, "body"), ({"body": "x" * 2001}, "body"), ({}, "body")):
        status, err = await m0.post(path, body)
        assert status == 400 and field in err["error"]["details"]["fields"], err
    assert await _count(sqlite_url) == 0

    text = "Could we talk about last week?\nIt stayed with me."
    status, sent = await m0.post(path, {"body": text})
    assert status == 201 and sent["leaders_told"] == 2, sent
    told = await outbox(sqlite_url, "leader_message")
    assert sorted(cast(int, m.person_id) for m in told) == sorted([w.leader_id, w.co_leader_id])
    assert all(text not in m.body for m in told)  # the mail says where to read it, not what

    status, seen = await leader.get(path)
    assert status == 200 and [(m["body"], m["sender_name"]) for m in seen] == [(text, "Member 0")]
    status, own = await m0.get(path)
    assert status == 200 and [m["body"] for m in own] == [text]
    status, other = await m1.get(path)
    assert status == 200 and other == []  # never to other members

    for who in (outsider, leader):
        status, _ = await who.post(path, {"body": "hello"})
        assert status == 403
    status, _ = await outsider.get(path)
    assert status == 403
    assert len(await refusals(sqlite_url, "leader_message.send")) == 2
    assert await _count(sqlite_url) == 1

    # Kept under the group's retention rule: gone once its last session is older than the
    # attendance period, not before.
    db = Database(sqlite_url)
    try:
        now = datetime.now(UTC)
        async with db.sessionmaker() as s, s.begin():
            assert (await sweep(s, RetentionPolicy(attendance_days=30), now))[
                "leader_messages"
            ] == 0
        async with db.sessionmaker() as s, s.begin():
            later = now + timedelta(days=31)
            assert (await sweep(s, RetentionPolicy(attendance_days=30), later))[
                "leader_messages"
            ] == 1
    finally:
        await db.dispose()
    assert await _count(sqlite_url) == 0
