"""Password reset by e-mail: no account enumeration, a purpose-bound single-use link that
arrives through a real SMTP server, the policy checked before the link is spent, every other
login ended, rate limits, secrets kept from coordinators and from the stored outbox."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from server.db.engine import Database
from server.db.models import AuditEntry, AuthSession, Invitation, Person, utcnow
from server.domain import AuditOutcome
from server.notify.mailer import Mailer, SmtpNotifier
from server.notify.models import OutboxMessage, OutboxStatus
from server.notify.templates import REDACTED_BODY
from server.scheduling.api import SERVICE_KEY
from tests.conftest import Live, make_settings, start_app
from tests.smtp import Inbox, free_port, smtp_server, text_of

from .seed import PASSWORD, World, invitation, seed, session_cookie

RESET = "/api/auth/password-reset"
CONFIRM = "/api/auth/password-reset/confirm"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(http://\S+/app/#reset=)(\S+)")


@dataclass
class MailApp:
    live: Live
    inbox: Inbox
    db_url: str
    world: World

    async def deliver(self) -> int:
        """Run the mailer once (the scheduler is off in tests), as its job would."""
        service = self.live.app[SERVICE_KEY]
        return (await service.mailer.deliver_once(utcnow())).sent


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]) -> AsyncIterator[MailApp]:
    inbox, port = smtp
    world = await seed(db_url, members=2)
    settings = make_settings(
        db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    runner, live = await start_app(settings)
    yield MailApp(live, inbox, db_url, world)
    await runner.cleanup()


async def _query(url: str, stmt: Any) -> list[Any]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list((await s.execute(stmt)).scalars())
    finally:
        await db.dispose()


async def _execute(url: str, stmt: Any) -> None:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(stmt)
    finally:
        await db.dispose()


async def _outbox(url: str) -> list[OutboxMessage]:
    return await _query(url, select(OutboxMessage).order_by(OutboxMessage.id))


async def _password_hash(url: str, person_id: int) -> str | None:
    hashed: str | None = (
        await _query(url, select(Person.password_hash).where(Person.id == person_id))
    )[0]
    return hashed


async def _audit(url: str, action: str) -> list[AuditEntry]:
    return await _query(
        url, select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    )


async def _counts(url: str) -> tuple[int, int, int]:
    """(outbox rows, links, open logins): what a refused request must leave unchanged."""
    outbox = await _query(url, select(func.count()).select_from(OutboxMessage))
    links = await _query(url, select(func.count()).select_from(Invitation))
    logins = await _query(
        url, select(func.count()).select_from(AuthSession).where(AuthSession.revoked.is_(False))
    )
    return outbox[0], links[0], logins[0]


async def _mailed_token(app: MailApp, email: str, api: Any) -> str:
    """Ask for a reset, deliver it through SMTP, and read the token out of the e-mail."""
    before = len(app.inbox.messages)
    status, body = await api.post(RESET, {"email": email})
    assert status == 202, body
    assert await app.deliver() == 1
    assert len(app.inbox.messages) == before + 1
    message = app.inbox.messages[-1]
    assert message["To"] == email
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    assert found.group(1) == "http://127.0.0.1:8080/app/#reset="
    return found.group(2)


async def test_known_and_unknown_addresses_get_the_same_answer(mail_app, api_factory):
    api = api_factory(mail_app.live)
    known = await api.post(RESET, {"email": "M0@test.example"})
    unknown = await api.post(RESET, {"email": "nobody@test.example"})
    assert known == unknown == (202, {"accepted": True, "link_ttl_minutes": 60})
    rows = await _outbox(mail_app.db_url)
    assert [(r.to_address, r.kind, r.channel, r.status) for r in rows] == [
        ("m0@test.example", "password_reset", "smtp", OutboxStatus.QUEUED)
    ]
    assert "#reset=" in rows[0].body
    # An inactive person is treated as unknown.
    await _execute(
        mail_app.db_url,
        update(Person).where(Person.id == mail_app.world.member_ids[1]).values(is_active=False),
    )
    assert await api.post(RESET, {"email": "m1@test.example"}) == known
    assert len(await _outbox(mail_app.db_url)) == 1
    audited = await _audit(mail_app.db_url, "auth.password_reset_request")
    assert [(e.target, e.outcome, e.details["person_id"]) for e in audited] == [
        ("email:m0@test.example", AuditOutcome.ALLOWED, mail_app.world.member_ids[0]),
        ("email:nobody@test.example", AuditOutcome.ALLOWED, None),
        ("email:m1@test.example", AuditOutcome.ALLOWED, None),
    ]


async def test_mailed_link_sets_the_password_once_and_ends_other_logins(mail_app, api_factory):
    w, url = mail_app.world, mail_app.db_url
    member = w.member_ids[0]
    await _execute(url, update(Person).where(Person.id == member).values(locale="nl"))
    old_cookie = await session_cookie(url, member)
    elsewhere = api_factory(mail_app.live)
    elsewhere.http.cookie_jar.update_cookies({"circle_session": old_cookie})
    assert (await elsewhere.get("/api/me"))[0] == 200
    old_hash = await _password_hash(url, member)

    api = api_factory(mail_app.live)
    token = await _mailed_token(mail_app, "m0@test.example", api)
    message = mail_app.inbox.messages[-1]
    assert message["Content-Language"] == "nl"
    assert message["Subject"] == "Kies een nieuw wachtwoord voor Healers' Circle"
    assert "60 minuten" in text_of(message)
    # Once sent, the link is gone from the stored outbox row.
    (row,) = await _outbox(url)
    assert row.status == OutboxStatus.SENT and row.body == REDACTED_BODY

    # A weak password is refused before the link is touched: it still works afterwards.
    status, body = await api.post(CONFIRM, {"token": token, "new_password": "short"})
    assert status == 400 and body["error"]["code"] == "weak_password"
    assert await _password_hash(url, member) == old_hash

    status, me = await api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD})
    assert status == 200, me
    assert me["id"] == member and me["has_password"] is True
    assert (await api.get("/api/me"))[1]["id"] == member  # the fresh cookie works
    assert (await elsewhere.get("/api/me"))[0] == 401  # the old login is over

    fresh = api_factory(mail_app.live)
    status, body = await fresh.post(
        "/api/auth/login", {"email": "m0@test.example", "password": PASSWORD}
    )
    assert status == 401
    status, _ = await fresh.post(
        "/api/auth/login", {"email": "m0@test.example", "password": NEW_PASSWORD}
    )
    assert status == 200

    status, body = await api_factory(mail_app.live).post(
        CONFIRM, {"token": token, "new_password": "yet another passphrase"}
    )
    assert status == 410 and body["error"]["code"] == "used"
    assert [(e.outcome, e.actor_id) for e in await _audit(url, "auth.password_reset")] == [
        (AuditOutcome.ALLOWED, member),
        (AuditOutcome.REFUSED, None),
    ]


async def test_a_reset_voids_the_persons_other_open_links(mail_app, api_factory):
    api = api_factory(mail_app.live)
    first = await _mailed_token(mail_app, "m0@test.example", api)
    second = await _mailed_token(mail_app, "m0@test.example", api)
    invite = await invitation(mail_app.db_url, mail_app.world.member_ids[0])
    status, _ = await api.post(CONFIRM, {"token": second, "new_password": NEW_PASSWORD})
    assert status == 200
    status, body = await api.post(CONFIRM, {"token": first, "new_password": NEW_PASSWORD})
    assert status == 410 and body["error"]["code"] == "used"
    status, body = await api.post("/api/auth/invitation", {"token": invite})
    assert status == 410


async def test_expired_link_is_refused(mail_app, api_factory):
    api = api_factory(mail_app.live)
    token = await _mailed_token(mail_app, "m0@test.example", api)
    await _execute(
        mail_app.db_url,
        update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)),
    )
    before = await _password_hash(mail_app.db_url, mail_app.world.member_ids[0])
    status, body = await api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD})
    assert status == 410 and body["error"]["code"] == "expired"
    assert await _password_hash(mail_app.db_url, mail_app.world.member_ids[0]) == before
    assert (await api.get("/api/me"))[0] == 401


async def test_invitation_and_reset_tokens_do_not_stand_in_for_each_other(mail_app, api_factory):
    member = mail_app.world.member_ids[0]
    api = api_factory(mail_app.live)
    reset = await _mailed_token(mail_app, "m0@test.example", api)
    invite = await invitation(mail_app.db_url, member)
    before = await _password_hash(mail_app.db_url, member)

    status, _ = await api.post(CONFIRM, {"token": invite, "new_password": NEW_PASSWORD})
    assert status == 401
    assert await _password_hash(mail_app.db_url, member) == before
    status, _ = await api.post("/api/auth/invitation", {"token": reset})
    assert status == 401
    assert (await api.get("/api/me"))[0] == 401
    # Neither refusal spent the link it was not meant for.
    assert (await api.post("/api/auth/invitation", {"token": invite}))[0] == 200
    other = api_factory(mail_app.live)
    assert (await other.post(CONFIRM, {"token": reset, "new_password": NEW_PASSWORD}))[0] == 200
    refused = [
        e
        for e in await _audit(mail_app.db_url, "auth.password_reset")
        if e.outcome == AuditOutcome.REFUSED
    ]
    assert [e.details["reason"] for e in refused] == ["unauthenticated"]


async def test_forged_and_malformed_tokens(mail_app, api_factory):
    api = api_factory(mail_app.live)
    token = await _mailed_token(mail_app, "m0@test.example", api)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (forged, "not-a-token", "a.b", "." * 10):
        status, body = await api.post(CONFIRM, {"token": bad, "new_password": NEW_PASSWORD})
        assert status == 401, (bad, body)
    assert (await api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}))[0] == 200


async def test_concurrent_confirms_spend_the_link_once(mail_app, api_factory):
    token = await _mailed_token(mail_app, "m0@test.example", api_factory(mail_app.live))
    clients = [api_factory(mail_app.live) for _ in range(4)]
    results = await asyncio.gather(
        *(c.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}) for c in clients)
    )
    assert sorted(status for status, _ in results) == [200, 410, 410, 410]


async def test_requests_are_rate_limited_for_known_and_unknown_alike(mail_app, api_factory):
    api = api_factory(mail_app.live)
    for email in ("m0@test.example", "nobody@test.example"):
        for _ in range(3):  # login_max_failures=3 in test settings: each request counts
            assert (await api.post(RESET, {"email": email}))[0] == 202
        status, body = await api.post(RESET, {"email": email})
        assert status == 429 and body["error"]["code"] == "rate_limited"
    assert len(await _outbox(mail_app.db_url)) == 3
    refused = [
        e.target
        for e in await _audit(mail_app.db_url, "auth.password_reset_request")
        if e.outcome == AuditOutcome.REFUSED
    ]
    assert refused == ["email:m0@test.example", "email:nobody@test.example"]
    # Another address is not held back by these.
    assert (await api.post(RESET, {"email": "m1@test.example"}))[0] == 202


async def test_unavailable_without_smtp(live, db_url, api_factory):
    await seed(db_url, members=1)
    api = api_factory(live)
    status, body = await api.post(RESET, {"email": "m0@test.example"})
    assert status == 503
    assert body["error"] == {
        "code": "reset_unavailable",
        "message": "Password reset by e-mail is not set up here; ask your coordinator for a "
        "new sign-in link.",
    }
    assert await _outbox(db_url) == []
    assert await _query(db_url, select(Invitation)) == []


async def test_coordinators_never_read_reset_links(mail_app, api_factory):
    w, url = mail_app.world, mail_app.db_url
    member = api_factory(mail_app.live)
    assert (await member.post(RESET, {"email": "m0@test.example"}))[0] == 202
    (row,) = await _outbox(url)
    assert "#reset=" in row.body  # queued: the link is still stored for the mailer
    coordinator = api_factory(mail_app.live)
    coordinator.http.cookie_jar.update_cookies(
        {"circle_session": await session_cookie(url, w.coordinator_id)}
    )
    path = f"/api/organisations/{w.org_id}/outbox"
    for _ in range(2):  # while queued, and after sending
        status, rows = await coordinator.get(path)
        assert status == 200
        assert [(r["kind"], r["body"]) for r in rows] == [("password_reset", REDACTED_BODY)]
        assert "reset" not in str(rows).replace("password_reset", "")
        assert await mail_app.deliver() in (0, 1)


async def test_a_reset_mail_that_finally_fails_is_redacted_too(mail_app, api_factory):
    api = api_factory(mail_app.live)
    assert (await api.post(RESET, {"email": "m0@test.example"}))[0] == 202
    dead = SmtpNotifier(
        host="127.0.0.1", port=free_port(), sender="c@localhost", starttls=False, timeout_s=2
    )
    db = Database(mail_app.db_url)
    try:
        mailer = Mailer(db.sessionmaker, dead, worker="t", max_attempts=2)
        await mailer.deliver_once(utcnow())
        (row,) = await _outbox(mail_app.db_url)
        assert row.status == OutboxStatus.RETRY and "#reset=" in row.body  # kept for the retry
        await mailer.deliver_once(utcnow() + timedelta(hours=1))
    finally:
        await db.dispose()
    (row,) = await _outbox(mail_app.db_url)
    assert row.status == OutboxStatus.FAILED and row.body == REDACTED_BODY


BAD_REQUESTS: list[Any] = [
    {},
    {"email": "m0@test.example", "extra": 1},
    {"email": 5},
    {"email": None},
    {"email": ["m0@test.example"]},
    {"email": "not an address"},
    {"email": "m0@test.example\n"},
    {"email": "a" * 10_000 + "@test.example"},
    "m0@test.example",
    [],
    None,
]

BAD_CONFIRMS: list[Any] = [
    {},
    {"token": "TOKEN"},
    {"new_password": NEW_PASSWORD},
    {"token": "TOKEN", "new_password": NEW_PASSWORD, "current_password": PASSWORD},
    {"token": 5, "new_password": NEW_PASSWORD},
    {"token": "TOKEN", "new_password": 1234567890123},
    {"token": "TOKEN", "new_password": None},
    {"token": "", "new_password": NEW_PASSWORD},
    {"token": "x" * 5000, "new_password": NEW_PASSWORD},
    {"token": "TOKEN", "new_password": "p" * 300},
    {"token": "TOKEN", "new_password": "p" * 100_000},
    ["TOKEN", NEW_PASSWORD],
    None,
]


async def test_bad_bodies_are_refused_and_change_nothing(mail_app, api_factory):
    url, member = mail_app.db_url, mail_app.world.member_ids[0]
    api = api_factory(mail_app.live)
    token = await _mailed_token(mail_app, "m0@test.example", api)
    before = (await _counts(url), await _password_hash(url, member))
    for body in BAD_REQUESTS:
        status, answer = await api.post(RESET, body)
        assert status == 400, (body, status, answer)
    for body in BAD_CONFIRMS:
        if isinstance(body, dict) and body.get("token") == "TOKEN":
            body = {**body, "token": token}
        status, answer = await api.post(CONFIRM, body)
        assert status in (400, 413), (body, status, answer)
    status, _ = await api.call(
        "POST", CONFIRM, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert (await _counts(url), await _password_hash(url, member)) == before
    assert len(mail_app.inbox.messages) == 1
    # The link survived all of it.
    assert (await api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}))[0] == 200
