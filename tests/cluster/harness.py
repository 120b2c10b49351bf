"""A cluster on loopback (deploy/local-cluster.sh: N nodes behind HAProxy, PostgreSQL, Redis) and
clients that behave like the browser's room client (web_client/src/protocol/room-client.ts):
a fresh join token for every connection attempt and, after a drop or a transient refusal
(``room_moving``, ``wrong_node``, ``timeout``, ...), the web client's back-off instead of giving
up (bench/retry_policy.py reads web_client/src/protocol/retry-policy.json: 0.5 s doubling to
2 s for 8 attempts, then up to 10 s, each x0.5-1.5)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import socketio

from bench.retry_policy import retry_delay_s
from server.auth.tokens import mint_join_token
from server.domain import GroupRole
from tests.conftest import SECRET

NS = "/room"
ROOT = Path(__file__).resolve().parents[2]
TRANSIENT = {"room_moving", "wrong_node", "timeout", "internal", "unavailable", "rate_limited"}


def backoff_s(attempt: int, *, refused: bool) -> float:
    """The browser's wait: the page's socket.io reconnection after a drop and the room
    client's back-off after a refusal follow the same schedule (retry-policy.json)."""
    del refused
    return retry_delay_s(attempt)


@dataclass
class Node:
    index: int
    url: str
    node_id: str


@dataclass
class Cluster:
    """The script's process and what it printed; nodes are told apart by index (1..N)."""

    proc: subprocess.Popen[str]
    dir: Path
    proxy: str
    nodes: dict[int, Node]
    db_url: str
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, n: int, db_url: str, env: dict[str, str], wait_s: float = 240) -> Cluster:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "local-cluster.sh"), str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + wait_s
        nodes: dict[int, Node] = {}
        proxy = ""
        folder = Path()
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            words = line.split()
            if words[:1] == ["dir"]:
                folder = Path(words[1])
            elif words[:1] == ["node"]:
                nodes[int(words[1])] = Node(int(words[1]), words[2], words[3])
            elif words[:1] == ["proxy"]:
                proxy = words[1]
            elif words == ["ready"]:
                return cls(proc, folder, proxy, nodes, db_url, lines)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        raise AssertionError("the cluster did not start:\n" + "\n".join(lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def pid(self, i: int) -> int:
        return int((self.dir / f"node{i}.pid").read_text())

    def hold(self, i: int) -> None:
        (self.dir / f"hold{i}").touch()

    def release(self, i: int) -> None:
        (self.dir / f"hold{i}").unlink(missing_ok=True)

    def signal(self, i: int, sig: int) -> int:
        pid = self.pid(i)
        os.kill(pid, sig)
        return pid

    async def wait_exit(self, pid: int, wait_s: float) -> float:
        """Seconds until ``pid`` is gone."""
        started = time.monotonic()
        while time.monotonic() - started < wait_s:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        raise AssertionError(f"process {pid} still runs after {wait_s} s")

    async def wait_ready(self, i: int, wait_s: float = 120) -> None:
        """Node ``i`` is up again (a new process) and answers /readyz."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if await asyncio.to_thread(_ready, self.nodes[i].url):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"node {i} not ready: {self.log(i)[-2000:]}")

    async def proxy_sees(self, i: int, status: str, wait_s: float = 30) -> None:
        """Until the proxy's health checks have node ``i`` in ``status`` (UP, DOWN)."""
        deadline = time.monotonic() + wait_s
        found = None
        while time.monotonic() < deadline:
            found = await self.proxy_status(i)
            if found == status:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the proxy has node {i} {found}, not {status}")

    async def proxy_status(self, i: int) -> str | None:
        reader, writer = await asyncio.open_unix_connection(str(self.dir / "haproxy.sock"))
        try:
            writer.write(b"show stat\n")
            await writer.drain()
            text = (await reader.read()).decode()
        finally:
            writer.close()
        lines = [line for line in text.splitlines() if line]
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("svname") == f"node{i}":
                return row.get("status", "").split(" ")[0]
        return None

    def log(self, i: int) -> str:
        return (self.dir / f"node{i}.log").read_text(errors="replace")

    async def owner(self, session_id: int) -> str | None:
        conn = await asyncpg.connect(self.db_url)
        try:
            owner: str | None = await conn.fetchval(
                "SELECT owner FROM room_leases WHERE session_id = $1", session_id
            )
            return owner
        finally:
            await conn.close()

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.db_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


class Member:
    """One person in one room, connected through the proxy the way the browser is."""

    def __init__(self, base: str, person_id: int, session_id: int, role: GroupRole) -> None:
        self.base = base
        self.person_id = person_id
        self.session_id = session_id
        self.role = role
        self.refusals: list[str] = []  # every refusal code it met (connect, hello, join)
        self.joined_at: list[float] = []  # monotonic times of each successful join
        self.dropped_at: list[float] = []
        self.snapshot: dict[str, Any] | None = None
        self.events: list[tuple[str, Any]] = []
        self.failed: str | None = None
        self.joined = asyncio.Event()
        self.sio: socketio.AsyncClient | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"member-{self.person_id}")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    def token(self) -> str:
        return mint_join_token(
            SECRET, person_id=self.person_id, session_id=self.session_id, role=self.role
        )

    def _poke(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing and self.failed is None:
            code = await self._session()
            if self._closing or self.failed is not None:
                return
            if code is not None:
                self.refusals.append(code)
                if code not in TRANSIENT and code != "connect_error":
                    self.failed = code
                    return
            await asyncio.sleep(backoff_s(attempt, refused=code is not None))
            attempt = 0 if code is None else attempt + 1

    async def _session(self) -> str | None:
        """One connection: None after a join that later dropped, else the refusal's code."""
        sio = socketio.AsyncClient(reconnection=False)
        gone = asyncio.Event()
        refused: dict[str, Any] = {}

        async def on_snapshot(data: dict[str, Any]) -> None:
            if self.snapshot is None or data["version"] > self.snapshot["version"]:
                self.snapshot = data
                self._poke()

        async def on_connect_error(data: Any) -> None:
            refused.update(data if isinstance(data, dict) else {"message": str(data)})

        async def on_disconnect(*_: Any) -> None:
            gone.set()

        def recorder(name: str) -> Any:
            async def record(data: Any) -> None:
                self.events.append((name, data))
                if name in ("room.replaced", "room.removed"):
                    self.failed = name
                self._poke()

            return record

        sio.on("room.snapshot", on_snapshot, namespace=NS)
        sio.on("connect_error", on_connect_error, namespace=NS)
        sio.on("disconnect", on_disconnect, namespace=NS)
        for name in ("room.ended", "room.closed", "room.replaced", "room.removed"):
            sio.on(name, recorder(name), namespace=NS)
        try:
            await sio.connect(
                f"{self.base}?session={self.session_id}",
                namespaces=[NS],
                transports=["websocket"],
                auth={"token": self.token()},
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError:
            with contextlib.suppress(Exception):
                await sio.disconnect()
            detail = refused.get("data")
            code = detail.get("code") if isinstance(detail, dict) else None
            return str(code or "connect_error")
        try:
            joined = await self._enter(sio)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            joined = {"ok": False, "error": {"code": "timeout"}}
        if not joined["ok"]:
            with contextlib.suppress(Exception):
                await sio.disconnect()
            return str(joined["error"]["code"])
        self.snapshot = joined["snapshot"]  # a join answer is a new baseline
        self.sio = sio
        self.joined_at.append(time.monotonic())
        self.joined.set()
        self._poke()
        await gone.wait()
        self.joined.clear()
        self.dropped_at.append(time.monotonic())
        self.sio = None
        return None

    async def _enter(self, sio: socketio.AsyncClient) -> dict[str, Any]:
        """hello, the agreement if asked, join: the join's answer or the first refusal."""
        hello: dict[str, Any] = await sio.call("hello", {"v": 1}, namespace=NS, timeout=10)
        if not hello["ok"]:
            return hello
        if hello["agreement"]["required"]:
            version = hello["agreement"]["version"]
            ok: dict[str, Any] = await sio.call(
                "agreement.accept", {"version": version}, namespace=NS, timeout=10
            )
            if not ok["ok"]:
                return ok
        joined: dict[str, Any] = await sio.call("join", {}, namespace=NS, timeout=10)
        return joined

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.sio is not None and self.joined.is_set(), f"{self.person_id} is not joined"
        reply: dict[str, Any] = await self.sio.call(event, payload, namespace=NS, timeout=10)
        return reply

    async def until(self, pred: Any, wait_s: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        while True:
            if self.joined.is_set() and self.snapshot is not None and pred(self.snapshot):
                return self.snapshot
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"person {self.person_id} (room {self.session_id}): no such snapshot; "
                    f"joined={self.joined.is_set()} refusals={self.refusals} last={self.snapshot}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    async def rejoined_after(self, t: float, wait_s: float) -> float:
        """Seconds from ``t`` to this member's first join after ``t``."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            later = [j for j in self.joined_at if j > t]
            if later and self.joined.is_set():
                return later[0] - t
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"person {self.person_id} (room {self.session_id}) not back within {wait_s} s; "
            f"refusals={self.refusals}"
        )
