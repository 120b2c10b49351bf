"""Authorization: refused actions change nothing and are audited."""

from __future__ import annotations

from sqlalchemy import func, select

from server.db.engine import Database
from server.db.models import AuditEntry, Group
from server.domain import AuditOutcome

from .seed import PASSWORD, seed


async def _login(api, email):
    status, body = await api.post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, body


async def _count(url, model):
    db = Database(url)
    async with db.sessionmaker() as s:
        n = await s.scalar(select(func.count()).select_from(model))
    await db.dispose()
    return n


async def test_member_cannot_create_groups(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    await _login(api, "m0@test.example")
    before = await _count(db_url, Group)
    status, body = await api.post(
        f"/api/organisations/{w.org_id}/groups", {"name": "Mine", "protocol": "balint"}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert await _count(db_url, Group) == before
    db = Database(db_url)
    async with db.sessionmaker() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "group.create"))
    await db.dispose()
    assert entry is not None and entry.outcome == AuditOutcome.REFUSED
    assert entry.actor_id == w.member_ids[0]


async def test_coordinator_creates_group_with_protocol_defaults(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    await _login(api, "coord@test.example")
    status, g = await api.post(
        f"/api/organisations/{w.org_id}/groups",
        {"name": "Dynamic", "protocol": "dynamic", "settings": {"auto_advance": True}},
    )
    assert status == 201 and g["capacity"] == 13 and g["min_members"] == 6
    status, body = await api.post(
        f"/api/organisations/{w.org_id}/groups",
        {"name": "Too big", "protocol": "balint", "capacity": 14},
    )
    assert status == 400
    status, body = await api.post(
        f"/api/organisations/{w.org_id}/groups",
        {"name": "Bad sitback", "protocol": "balint", "settings": {"sitback_minutes": 40}},
    )
    assert status == 400 and "sitback_minutes" in body["error"]["message"]


async def test_members_see_roster_without_contact_details(live, db_url, api_factory):
    w = await seed(db_url, members=2)
    member, leader = api_factory(live), api_factory(live)
    await _login(member, "m0@test.example")
    await _login(leader, "leader@test.example")
    status, roster = await member.get(f"/api/groups/{w.group_id}/members")
    assert status == 200 and len(roster) == 4
    assert all(r["email"] is None for r in roster)
    status, roster = await leader.get(f"/api/groups/{w.group_id}/members")
    assert all(r["email"] for r in roster)
    # Members may not read other people or the organisation's people list.
    assert (await member.get(f"/api/people/{w.member_ids[1]}"))[0] == 403
    assert (await member.get(f"/api/organisations/{w.org_id}/people"))[0] == 403
    assert (await member.get(f"/api/people/{w.member_ids[0]}"))[0] == 200


async def test_outsider_cannot_see_group_or_get_join_token(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    await _login(api, "out@test.example")
    assert (await api.get(f"/api/groups/{w.group_id}"))[0] == 403
    assert (await api.post(f"/api/sessions/{w.session_id}/join-token"))[0] == 403
    coord = api_factory(live)
    await _login(coord, "coord@test.example")
    status, _body = await coord.post(f"/api/sessions/{w.session_id}/join-token")
    assert status == 403  # coordinators schedule, they do not sit in the room


async def test_member_may_not_promote_themselves(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    await _login(api, "m0@test.example")
    status, _ = await api.call("PATCH", f"/api/people/{w.member_ids[0]}", {"is_active": False})
    assert status == 403
    status, me = await api.call("PATCH", "/api/me", {"locale": "fa", "timezone": "Asia/Tehran"})
    assert status == 200 and me["locale"] == "fa" and me["timezone"] == "Asia/Tehran"
    status, body = await api.call("PATCH", "/api/me", {"timezone": "Mars/Olympus"})
    assert status == 400 and "timezone" in body["error"]["message"]
