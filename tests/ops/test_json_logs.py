"""Structured logs (``log_format = "json"``, server/logs.py): a real ``circle serve`` through a
session flow (failed logins naming e-mail addresses, a room joined, commands, a leave) writes
one JSON object a line, with request and session ids, and not one name or e-mail address."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import update

from server.db.engine import Database
from server.db.models import Person
from server.domain import GroupRole
from tests.conftest import SECRET
from tests.signaling.conftest import Peer, seed

ROOT = Path(__file__).resolve().parents[2]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
NAMES = ["Zarathustra Quill", "Ottoline Brackwater", "Farvardin Esfandiari"]


async def wait_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.returncode is None, "the server exited"
            try:
                async with http.get(url + "/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the server did not become ready")


async def test_a_session_flow_logs_json_with_ids_and_no_personal_data(
    sqlite_url: str, tmp_path: Path
) -> None:
    world = await seed(sqlite_url, members=2)
    people = [world.leader, *world.members]
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            for pid, name in zip(people, NAMES, strict=True):
                await s.execute(
                    update(Person)
                    .where(Person.id == pid)
                    .values(display_name=name, email=f"{name.split()[0].lower()}@hospital.example")
                )
    finally:
        await db.dispose()

    with socketlike_port() as port:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": sqlite_url,
            "SECRET_KEY": SECRET,
            "CIRCLE_VAR_DIR": str(tmp_path / "var"),
            "CIRCLE_LOG_FORMAT": "json",
            "CIRCLE_LOG_LEVEL": "DEBUG",  # the most talkative: the access log too
            "CIRCLE_MEDIA_ENABLED": "false",
            "CIRCLE_SCHEDULER_ENABLED": "false",
            "CIRCLE_NODE_ID": "node-log",
        }
        env.pop("REDIS_URL", None)
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "server", "serve", "--port", str(port)),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                await wait_ready(url, proc)
                await flow(url, world.session_id, world.leader, world.members)
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 60)

    text = log_path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "nothing logged"
    assert all({"ts", "level", "logger", "msg", "node"} <= set(line) for line in lines)
    assert EMAIL.findall(text) == [], EMAIL.findall(text)[:5]
    for name in NAMES:
        for part in name.split():
            assert part not in text, part
    # The request id the client sent is on that request's lines; the session on the room's.
    assert any(line.get("request") == "flow-request-0001" for line in lines)
    assert any(line.get("session") == world.session_id for line in lines), lines[-20:]
    assert any("audit refused auth.login" in line["msg"] for line in lines)


async def flow(url: str, session_id: int, leader_id: int, members: list[int]) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/healthz", headers={"X-Request-Id": "flow-request-0001"}) as r:
            assert r.headers["X-Request-Id"] == "flow-request-0001"
        async with http.get(url + "/healthz") as r:
            assert len(r.headers["X-Request-Id"]) == 16  # a fresh one
        async with http.get(url + "/healthz", headers={"X-Request-Id": "bad id\u00e9"}) as r:
            assert r.headers["X-Request-Id"] != "bad id\u00e9"
        for email in ("zarathustra@hospital.example", "nobody@elsewhere.example"):
            async with http.post(
                url + "/api/auth/login",
                json={"email": email, "password": "wrong password 123"},
                headers={"X-Request-Id": "flow-request-0001"},
            ) as r:
                assert r.status in (401, 403), await r.text()
    leader = Peer(url, leader_id, session_id, GroupRole.LEADER)
    member = Peer(url, members[0], session_id, GroupRole.MEMBER)
    try:
        await leader.enter()
        await member.enter()
        reply = await leader.call(
            "protocol.command", {"command": "set_presenter", "person_id": str(members[0])}
        )
        assert reply["ok"], reply
        assert (await member.call("protocol.command", {"command": "advance"}))["ok"] is False
        assert (await member.call("leave", {}))["ok"]
    finally:
        await member.close()
        await leader.close()


class socketlike_port:
    """A free loopback port (released before the server binds it)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None
