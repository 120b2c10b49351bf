"""Accounts: password login, rate limit, one-click invitations, CSRF, logout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from server.db.engine import Database
from server.db.models import AuditEntry, Invitation, utcnow
from server.domain import AuditOutcome

from .seed import PASSWORD, invitation, seed


async def test_login_and_me(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    status, body = await api.post(
        "/api/auth/login", {"email": "Leader@Test.example", "password": PASSWORD}
    )
    assert status == 200, body
    assert body["id"] == w.leader_id
    assert body["groups"][0]["role"] == "leader"
    cookie = next(c for c in api.http.cookie_jar if c.key == "circle_session")
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    status, me = await api.get("/api/me")
    assert status == 200 and me["email"] == "leader@test.example"


async def test_bad_password_refused_and_audited(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    status, body = await api.post(
        "/api/auth/login", {"email": "leader@test.example", "password": "wrong password!"}
    )
    assert status == 401 and body["error"]["code"] == "bad_credentials"
    status, body = await api.post(
        "/api/auth/login", {"email": "nobody@test.example", "password": "wrong password!"}
    )
    assert status == 401 and body["error"]["message"] == "wrong email or password"
    assert (await api.get("/api/me"))[0] == 401
    db = Database(db_url)
    async with db.sessionmaker() as s:
        refused = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")))
    await db.dispose()
    assert len(refused) == 2 and all(e.outcome == AuditOutcome.REFUSED for e in refused)


async def test_login_rate_limited(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    for _ in range(3):  # login_max_failures=3 in test settings
        status, _ = await api.post(
            "/api/auth/login", {"email": "leader@test.example", "password": "bad bad bad"}
        )
        assert status == 401
    status, body = await api.post(
        "/api/auth/login", {"email": "leader@test.example", "password": PASSWORD}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited"


async def test_one_click_invitation_is_single_use(live, db_url, api_factory):
    w = await seed(db_url, members=1, with_password=False)
    token = await invitation(db_url, w.member_ids[0])
    api = api_factory(live)
    # An old-style link only moves the token into the fragment: fetching it spends nothing.
    async with api.http.get(f"{live.url}/i/{token}", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"] == f"/app/#signin={token}"
    assert (await api.get("/api/me"))[0] == 401
    status, me = await api.post("/api/auth/invitation", {"token": token})
    assert status == 200 and me["id"] == w.member_ids[0] and me["has_password"] is False
    status, me = await api.get("/api/me")
    assert status == 200 and me["id"] == w.member_ids[0]
    other = api_factory(live)
    status, body = await other.post("/api/auth/invitation", {"token": token})
    assert status == 410 and body["error"]["code"] == "used"
    assert (await other.get("/api/me"))[0] == 401


async def test_expired_and_forged_invitations(live, db_url, api_factory):
    w = await seed(db_url, members=1, with_password=False)
    token = await invitation(db_url, w.member_ids[0])
    db = Database(db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    await db.dispose()
    api = api_factory(live)
    status, body = await api.post("/api/auth/invitation", {"token": token})
    assert status == 410 and body["error"]["code"] == "expired"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, body = await api.post("/api/auth/invitation", {"token": forged})
    assert status == 401
    status, body = await api.post("/api/auth/invitation", {"token": "x" * 5000})
    assert status == 400


async def test_set_password_after_invitation_then_login(live, db_url, api_factory):
    w = await seed(db_url, members=1, with_password=False)
    token = await invitation(db_url, w.member_ids[0])
    api = api_factory(live)
    assert (await api.post("/api/auth/invitation", {"token": token}))[0] == 200
    status, body = await api.post("/api/auth/password", {"new_password": "short"})
    assert status == 400 and body["error"]["code"] == "weak_password"
    assert (await api.post("/api/auth/password", {"new_password": "a long new password"}))[0] == 204
    status, _ = await api.post("/api/auth/password", {"new_password": "another long one"})
    assert status == 401  # the current password is now required
    fresh = api_factory(live)
    status, _ = await fresh.post(
        "/api/auth/login", {"email": "m0@test.example", "password": "a long new password"}
    )
    assert status == 200


async def test_csrf_required_on_state_changes(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    assert (
        await api.post("/api/auth/login", {"email": "coord@test.example", "password": PASSWORD})
    )[0] == 200
    status, body = await api.post(
        "/api/organisations/1/groups", {"name": "X", "protocol": "balint"}, csrf=False
    )
    assert status == 403 and body["error"]["code"] == "csrf"
    status, body = await api.post(
        "/api/organisations/1/groups",
        {"name": "X", "protocol": "balint"},
        csrf=False,
        headers={"X-CSRF-Token": "not-the-cookie"},
    )
    assert status == 403


async def test_logout_ends_the_session(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    await api.post("/api/auth/login", {"email": "leader@test.example", "password": PASSWORD})
    assert (await api.post("/api/auth/logout"))[0] == 204
    assert (await api.get("/api/me"))[0] == 401
