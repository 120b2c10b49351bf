"""Memberships: capacity, waiting list, withdrawal; join tokens and the lobby."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from server.auth.tokens import verify_join_token
from server.db.engine import Database
from server.db.models import Group, Person, ScheduledSession, utcnow

from .seed import PASSWORD, SECRET, seed


async def _coord(live, api_factory):
    api = api_factory(live)
    assert (
        await api.post("/api/auth/login", {"email": "coord@test.example", "password": PASSWORD})
    )[0] == 200
    return api


async def test_full_group_puts_members_on_waiting_list(live, db_url, api_factory):
    w = await seed(db_url, members=2)
    db = Database(db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(update(Group).values(capacity=2))
        extra = Person(organisation_id=w.org_id, email="x@test.example", display_name="Extra")
        s.add(extra)
        await s.flush()
        extra_id = extra.id
    await db.dispose()
    api = await _coord(live, api_factory)
    status, m = await api.post(f"/api/groups/{w.group_id}/enrolments", {"person_id": extra_id})
    assert status == 201 and m["status"] == "waiting"
    status, _body = await api.post(f"/api/groups/{w.group_id}/enrolments", {"person_id": extra_id})
    assert status == 409
    status, m = await api.call("DELETE", f"/api/groups/{w.group_id}/enrolments/{w.member_ids[0]}")
    assert status == 200 and m["status"] == "withdrawn" and m["promoted_person_id"] == extra_id
    status, roster = await api.get(f"/api/groups/{w.group_id}/members")
    statuses = {r["person_id"]: r["status"] for r in roster}
    assert statuses[extra_id] == "active" and statuses[w.member_ids[0]] == "withdrawn"
    status, g = await api.get(f"/api/groups/{w.group_id}")
    assert g["member_count"] == 2


async def test_enrol_refuses_people_of_other_organisations_and_bad_input(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = await _coord(live, api_factory)
    assert (await api.post(f"/api/groups/{w.group_id}/enrolments", {"person_id": 99999}))[0] == 404
    bad: object
    for bad in ({"person_id": "one"}, {"person_id": 0}, {"person_id": 1, "role": "king"}, {}, []):
        status, body = await api.post(f"/api/groups/{w.group_id}/enrolments", bad)
        assert status == 400, (bad, body)


async def test_join_token_only_when_lobby_open(live, db_url, api_factory):
    w = await seed(db_url, members=1, session_in_minutes=60)
    api = api_factory(live)
    await api.post("/api/auth/login", {"email": "m0@test.example", "password": PASSWORD})
    status, body = await api.post(f"/api/sessions/{w.session_id}/join-token")
    assert status == 409 and body["error"]["code"] == "not_open"
    assert "lobby_opens_at" in body["error"]["details"]
    db = Database(db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(update(ScheduledSession).values(starts_at=utcnow() + timedelta(minutes=5)))
    await db.dispose()
    status, body = await api.post(f"/api/sessions/{w.session_id}/join-token")
    assert status == 201, body
    claims = verify_join_token(SECRET, body["token"])
    assert (claims.person_id, claims.session_id, claims.role.value) == (
        w.member_ids[0],
        w.session_id,
        "member",
    )
    status, sessions = await api.get("/api/me/sessions")
    assert [x["id"] for x in sessions] == [w.session_id]


async def test_unknown_routes_and_ids_are_json_404(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    await api.post("/api/auth/login", {"email": "m0@test.example", "password": PASSWORD})
    for path in ("/api/groups/99999", "/api/groups/abc", "/api/nothing", "/api/groups/99999999999"):
        status, body = await api.get(path)
        assert status == 404 and body["error"]["code"] == "not_found", path
    status, body = await api.get("/api/me?x=1")
    assert status == 400


async def test_my_sessions_say_whether_i_confirmed_the_series(live, db_url, api_factory):
    w = await seed(db_url, members=2)
    api = api_factory(live)
    await api.post("/api/auth/login", {"email": "m0@test.example", "password": PASSWORD})
    status, sessions = await api.get("/api/me/sessions")
    assert status == 200 and sessions[0]["series_confirmed"] is False
    status, body = await api.post(f"/api/series/{w.series_id}/confirm")
    assert status == 200, body
    status, sessions = await api.get("/api/me/sessions")
    assert sessions[0]["series_confirmed"] is True
    leader = api_factory(live)
    await leader.post("/api/auth/login", {"email": "leader@test.example", "password": PASSWORD})
    status, sessions = await leader.get("/api/me/sessions")
    assert sessions[0]["series_confirmed"] is None  # leaders are not asked
