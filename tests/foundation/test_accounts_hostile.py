"""Accounts and authorization under attack (issue 14, items 1, 2, 5, 6, 8), through REST."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from server.db.engine import Database
from server.db.models import AuditEntry, LoginAttempt, Organisation, Person, PersonRole, utcnow
from server.domain import AuditOutcome, OrgRole
from server.notify.models import OutboxMessage
from tests.conftest import make_settings, start_app

from .seed import PASSWORD, invitation, seed


async def _login(api: Any, email: str, password: str = PASSWORD, **kw: Any) -> tuple[int, Any]:
    answer: tuple[int, Any] = await api.post(
        "/api/auth/login", {"email": email, "password": password}, **kw
    )
    return answer


async def _add(url: str, *rows: Any) -> None:
    db = Database(url)
    async with db.sessionmaker() as s, s.begin():
        for row in rows:
            s.add(row)
    await db.dispose()


async def _scalar(url: str, stmt: Any) -> Any:
    db = Database(url)
    async with db.sessionmaker() as s:
        value = await s.scalar(stmt)
    await db.dispose()
    return value


async def _make_admin(url: str, person_id: int, org_id: int) -> None:
    await _add(url, PersonRole(person_id=person_id, organisation_id=org_id, role=OrgRole.ADMIN))


# --- 1. one-click sign-in links -----------------------------------------------------------


async def test_a_coordinator_cannot_mint_a_link_for_the_admin(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    await _make_admin(db_url, w.leader_id, w.org_id)  # the leader is also the admin
    coord = api_factory(live)
    assert (await _login(coord, "coord@test.example"))[0] == 200
    status, body = await coord.post(f"/api/people/{w.leader_id}/invitation")
    assert status == 403, body
    # Not for a plain member either: only admins make links.
    status, body = await coord.post(f"/api/people/{w.member_ids[0]}/invitation")
    assert status == 403, body
    refused = await _scalar(
        db_url,
        select(func.count()).where(
            AuditEntry.action == "person.invite", AuditEntry.outcome == AuditOutcome.REFUSED
        ),
    )
    assert refused == 2


async def test_an_admin_mints_links_only_for_new_people_who_are_told(live, db_url, api_factory):
    w = await seed(db_url, members=1, with_password=False)
    await _make_admin(db_url, w.coordinator_id, w.org_id)
    admin = api_factory(live)
    # The seed gives nobody a password; the admin signs in through a link of their own.
    token = await invitation(db_url, w.coordinator_id)
    assert (await admin.post("/api/auth/invitation", {"token": token}))[0] == 200
    # A person with an organisation role gets no link (not even from an admin) ...
    await _add(
        db_url,
        PersonRole(person_id=w.co_leader_id, organisation_id=w.org_id, role=OrgRole.COORDINATOR),
    )
    status, body = await admin.post(f"/api/people/{w.co_leader_id}/invitation")
    assert status == 409 and body["error"]["code"] == "use_password_reset"
    # ... nor one who has a password ...
    db = Database(db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(update(Person).where(Person.id == w.leader_id).values(password_hash="x"))
    await db.dispose()
    status, body = await admin.post(f"/api/people/{w.leader_id}/invitation")
    assert status == 409 and body["error"]["code"] == "use_password_reset"
    # ... nor one who has signed in before.
    member = api_factory(live)
    assert (
        await member.post(
            "/api/auth/invitation", {"token": await invitation(db_url, w.outsider_id)}
        )
    )[0] == 200
    status, body = await admin.post(f"/api/people/{w.outsider_id}/invitation")
    assert status == 409 and body["error"]["code"] == "use_password_reset"
    # A new person gets one: in the fragment, and they are told by e-mail (without the link).
    status, body = await admin.post(f"/api/people/{w.member_ids[0]}/invitation")
    assert status == 201, body
    assert "/app/#signin=" in body["url"] and "/i/" not in body["url"]
    mail = await _scalar(
        db_url, select(OutboxMessage).where(OutboxMessage.person_id == w.member_ids[0])
    )
    assert mail is not None and mail.kind == "sign_in_link"
    assert body["url"].split("#signin=")[1] not in mail.body
    allowed = await _scalar(
        db_url,
        select(func.count()).where(
            AuditEntry.action == "person.invite", AuditEntry.outcome == AuditOutcome.ALLOWED
        ),
    )
    assert allowed == 1


async def test_admin_of_another_organisation_gets_no_link_here(live, db_url, api_factory):
    w = await seed(db_url, members=1, with_password=False)
    other = Organisation(name="Other", slug="other")
    await _add(db_url, other)
    other_id = await _scalar(db_url, select(Organisation.id).where(Organisation.slug == "other"))
    await _make_admin(db_url, w.coordinator_id, other_id)  # admin over there, coordinator here
    api = api_factory(live)
    token = await invitation(db_url, w.coordinator_id)
    assert (await api.post("/api/auth/invitation", {"token": token}))[0] == 200
    status, _ = await api.post(f"/api/people/{w.member_ids[0]}/invitation")
    assert status == 403


# --- 2. people with organisation roles ------------------------------------------------------


async def test_a_coordinator_cannot_deactivate_or_edit_an_admin(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    await _make_admin(db_url, w.leader_id, w.org_id)
    coord = api_factory(live)
    assert (await _login(coord, "coord@test.example"))[0] == 200
    for patch in ({"is_active": False}, {"display_name": "Nobody"}, {"department": "None"}):
        status, body = await coord.call("PATCH", f"/api/people/{w.leader_id}", patch)
        assert status == 403, (patch, body)
    leader = await _scalar(db_url, select(Person).where(Person.id == w.leader_id))
    assert leader.is_active and leader.display_name == "Leader"
    # An admin may; and the deactivated admin's logins end.
    admin_api = api_factory(live)
    assert (await _login(admin_api, "leader@test.example"))[0] == 200
    await _make_admin(db_url, w.coordinator_id, w.org_id)
    status, body = await coord.call("PATCH", f"/api/people/{w.leader_id}", {"is_active": False})
    assert status == 200, body
    assert (await admin_api.get("/api/me"))[0] == 401
    # A coordinator still changes plain members.
    status, _ = await coord.call("PATCH", f"/api/people/{w.member_ids[0]}", {"department": "ICU"})
    assert status == 200


# --- 5. the login limiter ------------------------------------------------------------------


async def _wrong(api: Any, email: str, via: str | None = None) -> int:
    headers = {"X-Forwarded-For": via} if via else {}
    status, _ = await _login(api, email, "wrong password!", headers=headers)
    return status


async def _age_failures(url: str, seconds: float) -> None:
    db = Database(url)
    async with db.sessionmaker() as s, s.begin():
        for row in await s.scalars(select(LoginAttempt)):
            row.at = row.at - timedelta(seconds=seconds)
    await db.dispose()


async def test_forwarded_address_is_trusted_only_from_proxies(db_url, tmp_path: Path, api_factory):
    await seed(db_url, members=2)
    runner, live = await start_app(
        make_settings(db_url, tmp_path, trusted_proxies=["127.0.0.1/32"], login_max_failures=2)
    )
    try:
        api = api_factory(live)
        # Twenty failures (ten times the account budget) on different accounts from client A ...
        for i in range(20):
            assert await _wrong(api, f"nobody{i}@test.example", via="203.0.113.7") == 401
        # A's wait is 2 s from its last failure: stamped a minute ahead, the failures keep A
        # waiting however slowly a loaded machine gets through the next requests.
        await _age_failures(db_url, -60)
        assert await _wrong(api, "nobody@test.example", via="203.0.113.7") == 429
        # ... slow A down, not B behind the same proxy: B signs in.
        status, body = await _login(
            api, "m0@test.example", headers={"X-Forwarded-For": "198.51.100.9"}
        )
        assert status == 200, body
        # A client cannot pick its own address: what it writes left of the proxy's entry is ignored.
        forged = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
        status, _ = await _login(api, "nobody@test.example", "wrong password!", headers=forged)
        assert status == 429
    finally:
        await runner.cleanup()


async def test_forwarded_header_is_ignored_without_trusted_proxies(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    for i in range(30):  # login_max_failures=3: the address budget is 30
        assert await _wrong(api, f"nobody{i}@test.example", via=f"203.0.113.{i}") == 401
    assert await _wrong(api, "nobody@test.example", via="198.51.100.1") == 429


async def test_account_slows_down_across_addresses_with_growing_delays(
    db_url, tmp_path: Path, api_factory
):
    await seed(db_url, members=1)
    runner, live = await start_app(
        make_settings(db_url, tmp_path, trusted_proxies=["127.0.0.0/8"], login_max_failures=3)
    )
    try:
        api = api_factory(live)
        for i in range(3):
            assert await _wrong(api, "m0@test.example", via=f"203.0.113.{i}") == 401
        # From yet another address, even with the right password: wait first.
        headers = {"X-Forwarded-For": "198.51.100.50"}
        status, body = await _login(api, "m0@test.example", headers=headers)
        assert status == 429 and body["error"]["details"]["retry_after_s"] == 2
        await _age_failures(db_url, 2.5)  # the wait is over: one more try, which fails
        assert await _wrong(api, "m0@test.example", via="203.0.113.99") == 401
        status, body = await _login(api, "m0@test.example", headers=headers)
        assert status == 429 and body["error"]["details"]["retry_after_s"] == 4  # it grows
        await _age_failures(db_url, 4.5)  # no lock: after the wait the right password works
        status, body = await _login(api, "m0@test.example", headers=headers)
        assert status == 200, body
    finally:
        await runner.cleanup()


async def test_nobody_spends_another_persons_reset_budget(db_url, tmp_path: Path, api_factory):
    w = await seed(db_url, members=1)
    settings = make_settings(
        db_url, tmp_path, trusted_proxies=["127.0.0.1"], smtp_host="127.0.0.1", smtp_port=9
    )
    runner, live = await start_app(settings)
    try:
        api = api_factory(live)

        async def ask(via: str) -> int:
            headers = {"X-Forwarded-For": via}
            status, _ = await api.post(
                "/api/auth/password-reset", {"email": "m0@test.example"}, headers=headers
            )
            return int(status)

        assert [await ask("203.0.113.66") for _ in range(4)] == [202, 202, 202, 429]
        # The person themselves, from their own address, still gets a link.
        assert await ask("198.51.100.23") == 202
        sent = await _scalar(
            db_url,
            select(func.count()).where(
                OutboxMessage.person_id == w.member_ids[0], OutboxMessage.kind == "password_reset"
            ),
        )
        assert sent == 4
    finally:
        await runner.cleanup()


# --- 6. sessions ---------------------------------------------------------------------------


async def test_changing_the_password_ends_the_other_logins(live, db_url, api_factory):
    await seed(db_url, members=1)
    phone, laptop = api_factory(live), api_factory(live)
    assert (await _login(phone, "m0@test.example"))[0] == 200
    assert (await _login(laptop, "m0@test.example"))[0] == 200
    status, body = await laptop.post(
        "/api/auth/password",
        {"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert status == 204, body
    assert (await phone.get("/api/me"))[0] == 401
    assert (await laptop.get("/api/me"))[0] == 200


async def test_idle_logins_end(db_url, tmp_path: Path, api_factory):
    await seed(db_url, members=1)
    runner, live = await start_app(make_settings(db_url, tmp_path, session_idle_minutes=30))
    try:
        api = api_factory(live)
        assert (await _login(api, "m0@test.example"))[0] == 200
        assert (await api.get("/api/me"))[0] == 200
        from server.db.models import AuthSession

        db = Database(db_url)
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
            )
        await db.dispose()
        assert (await api.get("/api/me"))[0] == 401
    finally:
        await runner.cleanup()


async def test_csrf_token_is_bound_to_the_login_and_rotated_at_sign_in(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    await api.get("/healthz")
    before = api._csrf()["X-CSRF-Token"]
    assert (await _login(api, "m0@test.example"))[0] == 200
    after = api._csrf()["X-CSRF-Token"]
    assert after != before
    # The token from before sign-in (say, planted by another site's script) no longer passes.
    status, body = await api.call(
        "PATCH", "/api/me", {"locale": "nl"}, csrf=False, headers={"X-CSRF-Token": before}
    )
    assert status == 403 and body["error"]["code"] == "csrf"
    # Nor does a cookie and header pair the browser was made to agree on.
    api.http.cookie_jar.update_cookies({"circle_csrf": "chosen-by-attacker"})
    status, body = await api.call(
        "PATCH",
        "/api/me",
        {"locale": "nl"},
        csrf=False,
        headers={"X-CSRF-Token": "chosen-by-attacker"},
    )
    assert status == 403
    status, _ = await api.call(
        "PATCH", "/api/me", {"locale": "nl"}, csrf=False, headers={"X-CSRF-Token": after}
    )
    assert status == 200


async def test_https_cookies_are_secure_host_cookies(db_url, tmp_path: Path):
    import aiohttp
    import pytest

    from server.settings import ConfigError, load_settings

    with pytest.raises(ConfigError, match="cookie_secure"):
        load_settings(
            env={}, overrides={"public_url": "https://circle.example", "cookie_secure": False}
        )
    await seed(db_url, members=1)
    settings = make_settings(db_url, tmp_path, public_url="https://circle.example")
    assert settings.secure_cookies
    runner, live = await start_app(settings)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.get(live.url + "/healthz") as resp:
                csrf = resp.headers.getall("Set-Cookie")
            assert any(c.startswith("__Host-circle_csrf=") and "Secure" in c for c in csrf)
            headers = {"X-CSRF-Token": "x", "Cookie": "__Host-circle_csrf=x"}
            async with http.post(
                live.url + "/api/auth/login",
                json={"email": "m0@test.example", "password": PASSWORD},
                headers=headers,
            ) as resp:
                assert resp.status == 200
                cookies = resp.headers.getall("Set-Cookie")
            session = [c for c in cookies if c.startswith("__Host-circle_session=")]
            assert session and "Secure" in session[0] and "HttpOnly" in session[0]
            assert "Path=/" in session[0] and "Domain" not in session[0]
            # The login is read back from the __Host- cookie (the plain name means nothing).
            value = session[0].split(";")[0].split("=", 1)[1]
            for name, status in (("__Host-circle_session", 200), ("circle_session", 401)):
                async with http.get(
                    live.url + "/api/me", headers={"Cookie": f"{name}={value}"}
                ) as r:
                    assert r.status == status, name
    finally:
        await runner.cleanup()


# --- 8. display names ----------------------------------------------------------------------


async def test_display_names_refuse_invisible_and_direction_characters(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    assert (await _login(api, "m0@test.example"))[0] == 200
    for bad in ("Ann\u202eeL", "Ann\u200bLee", "\u2066Ann\u2069", "Ann\ufeff", "A\u200dnn"):
        status, body = await api.call("PATCH", "/api/me", {"display_name": bad})
        assert status == 400 and "display_name" in body["error"]["details"]["fields"], (bad, body)
    coord = api_factory(live)
    assert (await _login(coord, "coord@test.example"))[0] == 200
    status, body = await coord.post(
        f"/api/organisations/{w.org_id}/people",
        {"email": "new@test.example", "display_name": "Bob\u202e"},
    )
    assert status == 400 and "display_name" in body["error"]["message"]
    # Persian spelling keeps its zero-width non-joiner between letters.
    status, body = await api.call("PATCH", "/api/me", {"display_name": "مریم حسن\u200cزاده"})
    assert status == 200, body


async def test_a_member_cannot_pass_for_a_leader_of_the_group(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    assert (await _login(api, "m0@test.example"))[0] == 200
    for fake in ("Leader", "LEADER", " leader ", "L\u0435ader", "Co-leader", "coleader", "Lеаdеr"):
        status, body = await api.call("PATCH", "/api/me", {"display_name": fake})
        assert status == 409, (fake, body)
        assert body["error"]["code"] == "name_impersonates"
        assert list(body["error"]["details"]["fields"]) == ["display_name"]
    me = await _scalar(db_url, select(Person).where(Person.id == w.member_ids[0]))
    assert me.display_name == "Member 0"
    assert (await api.call("PATCH", "/api/me", {"display_name": "Leader's friend"}))[0] == 200
    # Not through the people endpoint either (a coordinator renaming the member).
    coord = api_factory(live)
    assert (await _login(coord, "coord@test.example"))[0] == 200
    status, body = await coord.call(
        "PATCH", f"/api/people/{w.member_ids[0]}", {"display_name": "Leader"}
    )
    assert status == 409


def test_client_address_reads_forwarded_only_from_trusted_proxies() -> None:
    from multidict import CIMultiDict

    from server.auth.ratelimit import client_address

    def addr(remote: str | None, xff: list[str], trusted: tuple[str, ...]) -> str:
        headers = CIMultiDict([("X-Forwarded-For", v) for v in xff])
        return client_address(remote, headers, trusted)

    proxy = ("10.0.0.0/8",)
    assert addr("10.0.0.5", ["203.0.113.7"], ()) == "10.0.0.5"  # no trusted proxies
    assert addr("198.51.100.1", ["203.0.113.7"], proxy) == "198.51.100.1"  # not from a proxy
    assert addr("10.0.0.5", ["203.0.113.7"], proxy) == "203.0.113.7"
    # The rightmost untrusted hop is the client; what it wrote further left is ignored.
    assert addr("10.0.0.5", ["1.2.3.4, 203.0.113.7, 10.0.0.9"], proxy) == "203.0.113.7"
    assert addr("10.0.0.5", ["1.2.3.4", "203.0.113.7"], proxy) == "203.0.113.7"
    assert addr("10.0.0.5", ["[2001:db8::1]:443"], proxy) == "2001:db8::1"
    assert addr("10.0.0.5", ["203.0.113.7:5555"], proxy) == "203.0.113.7"
    # Garbage stops the walk at the last trusted hop; no header: the proxy itself.
    assert addr("10.0.0.5", ["not-an-ip, 10.0.0.9"], proxy) == "10.0.0.9"
    assert addr("10.0.0.5", [], proxy) == "10.0.0.5"
    assert addr(None, [], proxy) == "unknown"
