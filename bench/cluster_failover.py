"""Members who come back (bench/cluster.py parts 2 and 3): browser-like members, a leader who
keeps changing phase, and one kill -9 or SIGTERM of the node owning most rooms, timed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster_nodes import Cluster, lease_owners, mint, wait_ready  # noqa: E402
from bench.retry_policy import retry_delay_s  # noqa: E402
from bench.signaling_servers import NS  # noqa: E402

# --- 2 and 3: members who come back ---------------------------------------------------------


class Member:
    """A browser-like member: a fresh token per attempt; the web client's back-off after a
    lost connection or a refusal; hello, join, and back in again after every drop."""

    def __init__(self, proxy: str, session_id: int, person_id: int, leader: bool) -> None:
        self.url = f"{proxy}/?session={session_id}"
        self.session_id, self.person_id, self.leader = session_id, person_id, leader
        self.sio: Any = None
        self.inside = asyncio.Event()
        self.dropped_at: float | None = None
        self.back_at: float | None = None
        self.snapshots: list[dict[str, Any]] = []
        self.refusals: dict[str, int] = {}
        self._gone = asyncio.Event()
        self._stop = False

    async def run(self) -> None:
        import socketio

        attempt = 0
        while not self._stop:
            sio = socketio.AsyncClient(reconnection=False)
            self._gone = asyncio.Event()
            sio.on("disconnect", self._on_disconnect, namespace=NS)
            sio.on("room.snapshot", self._on_snapshot, namespace=NS)
            try:
                await sio.connect(
                    self.url,
                    namespaces=[NS],
                    transports=["websocket"],
                    auth={"token": mint(self.person_id, self.session_id, self.leader)},
                    wait_timeout=5,
                )
                hello = await sio.call("hello", {"v": 1}, namespace=NS, timeout=5)
                if not hello.get("ok"):
                    raise Refused(hello["error"]["code"])
                joined = await sio.call("join", {}, namespace=NS, timeout=5)
                if not joined.get("ok"):
                    raise Refused(joined["error"]["code"])
                self._on_snapshot(joined["snapshot"])
            except Refused as exc:
                self.refusals[exc.code] = self.refusals.get(exc.code, 0) + 1
                await self._close(sio)
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            except Exception:
                await self._close(sio)
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            attempt = 0
            self.sio = sio
            if self.dropped_at is not None and self.back_at is None:
                self.back_at = time.monotonic()
            self.inside.set()
            await self._gone.wait()
            self.inside.clear()
            self.sio = None
            if not self._stop:
                self.dropped_at, self.back_at = time.monotonic(), None
                attempt += 1
                await asyncio.sleep(backoff(attempt))

    def _on_disconnect(self, *args: Any) -> None:
        self._gone.set()

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshots.append(data)

    @property
    def phase(self) -> str | None:
        if not self.snapshots:
            return None
        return str(max(self.snapshots, key=lambda s: int(s["version"]))["phase"])

    async def _close(self, sio: Any) -> None:
        with contextlib.suppress(Exception):
            await sio.disconnect()

    async def stop(self) -> None:
        self._stop = True
        self._gone.set()
        if self.sio is not None:
            await self._close(self.sio)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def backoff(attempt: int) -> float:
    """The web client's wait before its ``attempt``-th retry (1 for the first):
    bench/retry_policy.py, from web_client/src/protocol/retry-policy.json."""
    return retry_delay_s(attempt - 1)


@dataclass
class Ledger:
    """A leader's phase changes: sent, acknowledged, and what it saw."""

    sent: int = 0
    acked: int = 0
    lost: int = 0
    doubled: int = 0


async def keep_changing(leader: Member, ledger: Ledger, stop: asyncio.Event) -> None:
    """One phase change at a time (advance/back) while the leader is inside; checks each
    rejoin against the last acknowledged phase, and that no change comes unasked."""
    expected: str | None = None  # the phase after the last acknowledged change
    pending = False  # a change was sent and not acknowledged (it may or may not apply)
    seen_versions = 0
    base: str | None = None
    while not stop.is_set():
        await leader.inside.wait()
        sio = leader.sio
        if sio is None:
            continue
        now_phase = leader.phase
        if expected is not None and not pending and now_phase != expected:
            # Between our changes (or across a rejoin) the phase moved by itself.
            seen = [s for s in leader.snapshots if int(s["version"]) > seen_versions]
            if any(s["phase"] == expected for s in seen) or not seen:
                ledger.doubled += 1  # it was as acknowledged, then moved unasked
            else:
                ledger.lost += 1  # the acknowledged change is not in the room
            expected = now_phase
        base = base or now_phase  # the phase to come back to (waiting, after set_presenter)
        command = "advance" if now_phase == base else "back"
        ledger.sent += 1
        pending = True
        try:
            reply = await sio.call(
                "protocol.command", {"command": command}, namespace=NS, timeout=5
            )
        except Exception:
            await asyncio.sleep(0.2)
            continue
        if reply.get("ok"):
            ledger.acked += 1
            pending = False
            expected = leader.phase
            seen_versions = max((int(s["version"]) for s in leader.snapshots), default=0)
        elif reply.get("error", {}).get("code") not in (None, "wrong_node"):
            pending = False
            expected = leader.phase
        await asyncio.sleep(random.uniform(0.2, 0.4))


async def failover(
    cluster: Cluster, db_url: str, rooms: list[dict[str, Any]], trials: int
) -> dict[str, Any]:
    members = [
        Member(cluster.proxy, r["session_id"], pid, i == 0)
        for r in rooms
        for i, pid in enumerate(r["people"])
    ]
    tasks = [asyncio.create_task(m.run()) for m in members]
    stop = asyncio.Event()
    ledgers: list[Ledger] = []
    changers: list[asyncio.Task[None]] = []
    out: dict[str, Any] = {"takeover_s": [], "failed": 0}
    try:
        await asyncio.wait_for(asyncio.gather(*(m.inside.wait() for m in members)), 120)
        for m in members:
            if m.leader:
                first = next(x for x in rooms if x["session_id"] == m.session_id)
                await m.sio.call(
                    "protocol.command",
                    {"command": "set_presenter", "person_id": str(first["people"][1])},
                    namespace=NS,
                    timeout=10,
                )
                ledger = Ledger()
                ledgers.append(ledger)
                changers.append(asyncio.create_task(keep_changing(m, ledger, stop)))
        await asyncio.sleep(2)
        for trial in range(trials):
            took = await one_failure(cluster, db_url, members, signal.SIGKILL)
            print(
                f"  takeover trial {trial + 1}: {took['back_s']:.2f} s "
                f"({took['dropped']} members dropped)",
                flush=True,
            )
            if took["back_s"] is None:
                out["failed"] += 1
            else:
                out["takeover_s"].append(took["back_s"])
        drained = await one_failure(cluster, db_url, members, signal.SIGTERM)
        out["drain_s"] = drained["exit_s"]
        out["drain_back_s"] = drained["back_s"]
        print(
            f"  drain: process exited after {drained['exit_s']:.2f} s, members back after "
            f"{drained['back_s']} s ({drained['dropped']} dropped)",
            flush=True,
        )
    finally:
        stop.set()
        for t in changers:
            t.cancel()
        for m in members:
            await m.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*changers, *tasks, return_exceptions=True)
    refusals: dict[str, int] = {}
    for m in members:
        for code, n in m.refusals.items():
            refusals[code] = refusals.get(code, 0) + n
    out.update(
        members=len(members),
        lost=sum(x.lost for x in ledgers),
        doubled=sum(x.doubled for x in ledgers),
        changes_acked=sum(x.acked for x in ledgers),
        refusals=refusals,
    )
    return out


async def one_failure(
    cluster: Cluster, db_url: str, members: list[Member], how: signal.Signals
) -> dict[str, Any]:
    owners = await asyncio.to_thread(lease_owners, db_url)
    mine = {sid for m in members for sid in [m.session_id]}
    counts: dict[str, int] = {}
    for sid, node in owners.items():
        if sid in mine:
            counts[node] = counts.get(node, 0) + 1
    victim = max(counts, key=lambda n: counts[n]) if counts else next(iter(cluster.nodes))
    pid = cluster.pid(victim)
    cluster.hold(victim)
    for m in members:
        m.dropped_at = None
        m.back_at = None
    t0 = time.monotonic()
    os.kill(pid, how)
    exit_s = None
    deadline = t0 + 60
    while time.monotonic() < deadline:
        if _zombie(pid):  # gone, or dead and not yet reaped by its supervisor
            exit_s = time.monotonic() - t0
            break
        await asyncio.sleep(0.02)
    back_s: float | None = None
    while time.monotonic() < deadline:
        dropped = [m for m in members if m.dropped_at is not None]
        if dropped and all(m.back_at is not None for m in dropped) and time.monotonic() - t0 > 1:
            back_s = max(m.back_at for m in dropped if m.back_at is not None) - t0
            break
        await asyncio.sleep(0.05)
    dropped_n = sum(1 for m in members if m.dropped_at is not None)
    cluster.release(victim)
    await asyncio.to_thread(wait_ready, cluster.nodes[victim], 60)
    await asyncio.sleep(3)  # the proxy's checks see it up (rise 2 x 1 s)
    return {"back_s": back_s, "exit_s": exit_s, "dropped": dropped_n, "victim": victim}


def seconds_text(seconds: float | None) -> str:
    return "not within 60 s" if seconds is None else f"{seconds:.2f} s"


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
