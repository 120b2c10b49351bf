"""A person's rights over their data (issue 14, items 17, 18, 20), through REST and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from server.db.engine import Database
from server.db.models import AttendanceEvent, AuditEntry, AuthSession, Person, PersonRole
from server.domain import AttendanceKind, AuditOutcome, OrgRole
from server.notify.models import OutboxMessage, OutboxStatus
from server.privacy.holdings import HOLDINGS
from tests.conftest import SECRET, Live
from tests.foundation.seed import PASSWORD, seed

ROOT = Path(__file__).resolve().parents[2]


async def _circle(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def _login(live: Live, api_factory: Any, email: str) -> Any:
    api = api_factory(live)
    status, body = await api.post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return api


async def _add_traces(url: str, person_id: int, session_id: int, email: str) -> None:
    """What a member leaves behind: attendance, a message, an audit entry about them."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            s.add(
                AttendanceEvent(
                    session_id=session_id, person_id=person_id, kind=AttendanceKind.JOIN
                )
            )
            s.add(
                OutboxMessage(
                    person_id=person_id,
                    to_address=email,
                    kind="reminder",
                    subject="Reminder",
                    body=f"Dear Member, see you. ({email})",
                    status=OutboxStatus.SENT,
                )
            )
            s.add(
                AuditEntry(
                    actor_id=None,
                    action="group.enrol",
                    target=f"person:{person_id}",
                    outcome=AuditOutcome.ALLOWED,
                    details={"address": "192.0.2.7", "email": email},
                )
            )
    finally:
        await db.dispose()


async def test_a_member_downloads_their_data_and_nobody_elses(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=2)
    await _add_traces(sqlite_url, w.member_ids[0], w.session_id, "m0@test.example")
    member = await _login(live_sqlite, api_factory, "m0@test.example")
    async with member.http.get(live_sqlite.url + "/api/me/data") as resp:
        assert resp.status == 200
        assert "attachment" in resp.headers["Content-Disposition"]
        raw = await resp.text()
    data = json.loads(raw)
    assert data["person_id"] == w.member_ids[0]
    assert set(data["holdings"]) == {h.name for h in HOLDINGS}
    assert data["holdings"]["people"]["rows"][0]["email"] == "m0@test.example"
    assert data["holdings"]["memberships"]["rows"][0]["group_name"] == "Balint A"
    assert len(data["holdings"]["attendance_events"]["rows"]) == 1
    assert "Dear Member" in data["holdings"]["outbox"]["rows"][0]["body"]
    assert data["holdings"]["audit_log"]["rows"]
    # Secrets and other people are not in it.
    assert "password_hash" not in raw and "token_hash" not in raw and "argon2" not in raw
    assert "m1@test.example" not in raw and "coord@test.example" not in raw
    # Another member's data is staff-only.
    status, _ = await member.get(f"/api/people/{w.member_ids[1]}/data")
    assert status == 403


async def test_erasure_asked_by_the_member_and_carried_out_by_a_coordinator(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=2)
    pid = w.member_ids[0]
    await _add_traces(sqlite_url, pid, w.session_id, "m0@test.example")
    # A failed sign-in with the member's address leaves an audit entry about that address.
    status, _ = await api_factory(live_sqlite).post(
        "/api/auth/login", {"email": "m0@test.example", "password": "wrong password!"}
    )
    assert status == 401
    member = await _login(live_sqlite, api_factory, "m0@test.example")
    status, req = await member.post("/api/me/erasure-request")
    assert status == 201 and req["person_id"] == pid and req["done_at"] is None
    status, again = await member.post("/api/me/erasure-request")
    assert status == 201 and again["id"] == req["id"]  # asked twice, one request
    status, _ = await member.get(f"/api/organisations/{w.org_id}/privacy-requests")
    assert status == 403

    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, reqs = await coord.get(f"/api/organisations/{w.org_id}/privacy-requests")
    assert status == 200 and [r["id"] for r in reqs] == [req["id"]]
    status, report = await coord.post(f"/api/people/{pid}/erase")
    assert status == 200, report
    assert report["deleted"]["outbox"] == 1 and report["deleted"]["auth_sessions"] >= 1
    kept = {k["holding"]: k["why"] for k in report["kept"]}
    assert "attendance_events" in kept and "memberships" in kept and kept["audit_log"]

    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            person = await s.get(Person, pid)
            assert person is not None
            assert person.display_name == "Erased person" and person.email != "m0@test.example"
            assert person.password_hash is None and not person.is_active
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.to_address == "m0@test.example")
                )
                == 0
            )
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(AttendanceEvent)
                    .where(AttendanceEvent.person_id == pid)
                )
                == 1
            )
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(AuthSession)
                    .where(AuthSession.person_id == pid)
                )
                == 0
            )
            details = list(
                await s.scalars(
                    select(AuditEntry.details).where(
                        AuditEntry.target == f"person:{pid}", AuditEntry.action == "group.enrol"
                    )
                )
            )
            assert details == [{"erased": True}]
            targets = list(await s.scalars(select(AuditEntry.target)))
            assert not [t for t in targets if "m0@test.example" in t]
            assert f"person:{pid}" in targets
    finally:
        await db.dispose()
    # The old login is gone and the old password no longer works.
    status, _ = await member.get("/api/me")
    assert status == 401
    status, _ = await api_factory(live_sqlite).post(
        "/api/auth/login", {"email": "m0@test.example", "password": PASSWORD}
    )
    assert status == 401
    status, reqs = await coord.get(f"/api/organisations/{w.org_id}/privacy-requests")
    assert reqs[0]["done_at"] is not None and reqs[0]["report"]["deleted"]["outbox"] == 1


async def test_only_admins_erase_staff_and_only_in_their_organisation(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=1)
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            s.add(PersonRole(person_id=w.leader_id, organisation_id=w.org_id, role=OrgRole.ADMIN))
    finally:
        await db.dispose()
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, err = await coord.post(f"/api/people/{w.leader_id}/erase")
    assert status == 403, err
    member = await _login(live_sqlite, api_factory, "m0@test.example")
    status, _ = await member.post(f"/api/people/{w.outsider_id}/erase")
    assert status == 403
    status, _ = await coord.post("/api/people/999999/erase")
    assert status == 404
    admin = await _login(live_sqlite, api_factory, "leader@test.example")
    status, me = await admin.get("/api/me")
    assert status == 200 and me["email"] == "leader@test.example"  # nothing was erased
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            refused = await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.action == "privacy.erase",
                    AuditEntry.outcome == AuditOutcome.REFUSED,
                )
            )
            assert refused == 2
    finally:
        await db.dispose()


async def test_the_retention_sweep_removes_what_has_outlived_its_period(
    sqlite_url: str, tmp_path: Path
) -> None:
    w = await seed(sqlite_url, members=1)
    old = datetime.now(UTC) - timedelta(days=400)
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            s.add(
                OutboxMessage(
                    person_id=w.member_ids[0],
                    to_address="m0@test.example",
                    kind="reminder",
                    subject="Old",
                    body="Dear Member 0",
                    status=OutboxStatus.SENT,
                    created_at=old,
                    sent_at=old,
                )
            )
            s.add(
                OutboxMessage(
                    person_id=w.member_ids[0],
                    to_address="m0@test.example",
                    kind="reminder",
                    subject="New",
                    body="Dear Member 0, soon",
                    status=OutboxStatus.SENT,
                )
            )
            s.add(AuthSession(token_hash="x" * 64, person_id=w.member_ids[0], expires_at=old))
            s.add(
                AuditEntry(
                    at=old,
                    action="auth.login",
                    target="email:someone@test.example",
                    outcome=AuditOutcome.REFUSED,
                    details={},
                )
            )
            s.add(
                AuditEntry(
                    at=old,
                    action="login",
                    target="person:1",
                    outcome=AuditOutcome.REFUSED,
                    details={"address": "192.0.2.1"},
                )
            )
    finally:
        await db.dispose()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SECRET_KEY": SECRET}
    rc, out, err = await _circle(env, "privacy", "sweep")
    assert rc == 0, err
    counts = json.loads(out)
    assert counts["outbox_bodies"] == 1 and counts["auth_sessions"] == 1
    assert counts["audit_details"] == 1 and counts["audit_addresses"] == 1
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            bodies = dict(
                (await s.execute(select(OutboxMessage.subject, OutboxMessage.body))).all()
            )
            assert bodies["Old"].startswith("[removed") and bodies["New"] == "Dear Member 0, soon"
            addresses = set(await s.scalars(select(OutboxMessage.to_address)))
            assert addresses == {"", "m0@test.example"}
    finally:
        await db.dispose()
    # Idempotent: a second pass changes nothing.
    rc, out, _ = await _circle(env, "privacy", "sweep")
    assert rc == 0 and not any(json.loads(out).values())


def test_docs_privacy_lists_every_holding_and_every_retention_key() -> None:
    text = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    for h in HOLDINGS:
        assert f"`{h.name}`" in text, f"docs/privacy.md does not list {h.name}"
    for key in re.findall(r"retention_[a-z_]+", text):
        assert key in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


async def test_no_address_reaches_the_application_log(
    live_sqlite: Live, sqlite_url: str, api_factory: Any, caplog: Any
) -> None:
    await seed(sqlite_url, members=1)
    caplog.set_level("INFO")  # the default log_level
    anon = api_factory(live_sqlite)
    status, _ = await anon.post(
        "/api/auth/login", {"email": "m0@test.example", "password": "wrong password!"}
    )
    assert status == 401
    status, _ = await anon.post("/api/auth/password-reset", {"email": "m0@test.example"})
    assert status in (202, 503)
    assert "audit" in caplog.text  # the refusals were logged ...
    assert "m0@test.example" not in caplog.text  # ... without the address
    assert "127.0.0.1" not in caplog.text.replace("http://127.0.0.1", "")
