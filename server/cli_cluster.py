"""``circle cluster status``: the nodes of a scaled-out deployment, their rooms, and how fresh
their leases and heartbeats are (a composition root, like ``server/cli.py``).

    circle cluster status [--json]

It reads what every node writes anyway, with the same configuration as ``circle serve``:
the rooms' leases in the database (``room_leases``: owner, valid until; renewed every third
of ``room_lease_s``, so a lease's age is ``room_lease_s`` minus what is left of it), each
room's last saved change (``room_states.updated_at``) and session status, and, when
``redis_url`` is set, the nodes' heartbeats in Redis (server/signaling/cluster.py): a node is
alive while its key ``<redis_channel>:node:<node_id>`` exists (it expires ``heartbeat_ttl_s``
after the last beat), and ``<redis_channel>:seen:<node_id>`` keeps the time of its last beat
(milliseconds since the epoch) for a day, so a dead node is listed with the age of its last
beat. Exit code 0 when every live room has a valid lease and every node holding rooms is
alive; 1 when a room's lease ran out (nobody runs it until a member reconnects) or a node
holding rooms has no heartbeat (its rooms move at the next reconnect); 2 when the database is
not migrated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from server.db import migrate
from server.db.engine import Database
from server.db.models import RoomLease, RoomState, ScheduledSession
from server.settings import Settings

SettingsLoader = Callable[[argparse.Namespace], Settings]
ALIVE_KEY = "{channel}:node:"  # + node id: exists while the node beats (module docstring)
SEEN_KEY = "{channel}:seen:"  # + node id: its last beat, ms since the epoch


@dataclass(slots=True)
class RoomRow:
    session_id: int
    node: str
    status: str
    lease_age_s: float  # since the last renewal
    lease_left_s: float  # negative: ran out this long ago
    saved_age_s: float | None  # since the room's last saved change

    @property
    def expired(self) -> bool:
        return self.lease_left_s < 0


@dataclass(slots=True)
class NodeRow:
    node: str
    rooms: list[int] = field(default_factory=list)
    heartbeat_age_s: float | None = None  # since its last beat; None: none known
    alive: bool | None = None  # its heartbeat key exists; None: not read (no Redis)


@dataclass(slots=True)
class Status:
    nodes: list[NodeRow]
    rooms: list[RoomRow]
    heartbeats: str  # "redis" (read), "no redis_url", or why reading failed

    @property
    def healthy(self) -> bool:
        dead = [n for n in self.nodes if n.rooms and n.alive is False]
        return not dead and not any(r.expired for r in self.rooms)

    def as_json(self) -> str:
        return json.dumps(
            {
                "ok": self.healthy,
                "heartbeats": self.heartbeats,
                "nodes": [asdict(n) for n in self.nodes],
                "rooms": [asdict(r) | {"expired": r.expired} for r in self.rooms],
            },
            indent=2,
        )

    def as_text(self) -> str:
        lines = [f"nodes ({len(self.nodes)}; heartbeats: {self.heartbeats}):"]
        for n in self.nodes:
            beat = "-" if n.heartbeat_age_s is None else f"{n.heartbeat_age_s:.1f} s ago"
            state = {True: "alive", False: "DEAD", None: ""}[n.alive]
            lines.append(f"  {n.node:<24} rooms {len(n.rooms):>4}   last beat {beat}  {state}")
        if not self.nodes:
            lines.append("  (none)")
        lines.append(f"rooms ({len(self.rooms)}):")
        for r in self.rooms:
            saved = "-" if r.saved_age_s is None else f"{r.saved_age_s:.1f} s ago"
            left = (
                f"ran out {-r.lease_left_s:.1f} s ago"
                if r.expired
                else f"{r.lease_left_s:.1f} s left"
            )
            lines.append(
                f"  session {r.session_id:<8} {r.node:<24} {r.status:<8} lease renewed "
                f"{r.lease_age_s:.1f} s ago ({left})   last change saved {saved}"
            )
        if not self.rooms:
            lines.append("  (none)")
        return "\n".join(lines)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def read_leases(db: Database, lease_s: float, now: datetime) -> list[RoomRow]:
    async with db.sessionmaker() as s:
        rows = (
            await s.execute(
                select(
                    RoomLease.session_id,
                    RoomLease.owner,
                    RoomLease.lease_until,
                    ScheduledSession.status,
                    RoomState.updated_at,
                )
                .join(ScheduledSession, ScheduledSession.id == RoomLease.session_id)
                .outerjoin(RoomState, RoomState.session_id == RoomLease.session_id)
                .order_by(RoomLease.owner, RoomLease.session_id)
            )
        ).all()
    out = []
    for session_id, owner, until, status, saved in rows:
        left = (_aware(until) - now).total_seconds()
        out.append(
            RoomRow(
                session_id=session_id,
                node=owner,
                status=str(status.value if hasattr(status, "value") else status),
                lease_age_s=round(max(0.0, lease_s - left), 3),
                lease_left_s=round(left, 3),
                saved_age_s=None
                if saved is None
                else round((now - _aware(saved)).total_seconds(), 3),
            )
        )
    return out


async def read_heartbeats(
    redis_url: str, channel: str, now_ms: int
) -> dict[str, tuple[float | None, bool]]:
    """node id -> (seconds since its last beat, alive)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url, socket_timeout=5)
    alive_prefix, seen_prefix = ALIVE_KEY.format(channel=channel), SEEN_KEY.format(channel=channel)
    try:
        alive = {
            _text(k)[len(alive_prefix) :]
            async for k in client.scan_iter(match=alive_prefix + "*", count=500)
        }
        found: dict[str, tuple[float | None, bool]] = {n: (None, True) for n in alive}
        async for key in client.scan_iter(match=seen_prefix + "*", count=500):
            node = _text(key)[len(seen_prefix) :]
            try:
                beat_ms = int(float(_text(await client.get(key))))
            except (TypeError, ValueError):
                continue
            found[node] = (round(max(0.0, (now_ms - beat_ms) / 1000), 3), node in alive)
        return found
    finally:
        await client.aclose()


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def cluster_status(settings: Settings, now: datetime | None = None) -> Status | None:
    """None when the database is not migrated."""
    now = now or datetime.now(UTC)
    db = Database(settings.effective_database_url)
    try:
        if not await migrate.is_current(db):
            return None
        rooms = await read_leases(db, settings.room_lease_s, now)
    finally:
        await db.dispose()
    beats: dict[str, tuple[float | None, bool]] = {}
    source = "no redis_url"
    if settings.redis_url is not None:
        try:
            beats = await read_heartbeats(
                settings.redis_url, settings.redis_channel, int(now.timestamp() * 1000)
            )
            source = "redis"
        except Exception as exc:  # the leases still tell most of the story
            source = f"unreadable ({type(exc).__name__})"
    nodes = {
        name: NodeRow(name, heartbeat_age_s=age, alive=up) for name, (age, up) in beats.items()
    }
    for r in rooms:
        if r.node not in nodes:
            reading = source == "redis"
            nodes[r.node] = NodeRow(r.node, alive=False if reading else None)
        nodes[r.node].rooms.append(r.session_id)
    return Status(
        nodes=sorted(nodes.values(), key=lambda n: n.node), rooms=rooms, heartbeats=source
    )


def _status(settings: SettingsLoader, a: argparse.Namespace) -> int:
    status = asyncio.run(cluster_status(settings(a)))
    if status is None:
        print("error: the database is not migrated; run: circle db upgrade")
        return 2
    print(status.as_json() if a.json else status.as_text())
    return 0 if status.healthy else 1


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: SettingsLoader
) -> None:
    p = sub.add_parser("cluster", help="a scaled-out deployment's nodes and rooms")
    csub = p.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    st = csub.add_parser(
        "status",
        help="nodes, their rooms, lease and heartbeat ages (exit 1: a lease ran out or a "
        "node with rooms does not beat)",
    )
    st.add_argument("--json", action="store_true", help="print the status as JSON")
    st.set_defaults(func=lambda a: _status(settings, a))
