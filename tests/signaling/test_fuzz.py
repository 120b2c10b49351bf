"""Thousands of random and malformed payloads to every event: each answered with an error,
nothing changes, the server keeps serving."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.domain import GroupRole
from server.signaling import EVENTS

from .conftest import Server, make_server

N = 3000
ERROR_CODES = {"invalid", "too_large", "unknown_event", "unsupported_version"}


def junk(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    match kind:
        case 0:
            return None
        case 1:
            return rng.choice([True, False])
        case 2:
            return rng.randint(-(2**63), 2**63)
        case 3:
            return rng.uniform(-1e9, 1e9)
        case 4:
            return "".join(
                rng.choice("aZ09 _-.{}\"'\\\u00e9\u202e\U0001f600\x00")
                for _ in range(rng.randrange(0, 40))
            )
        case 5:
            return rng.choice(["", "advance", "open", "hands", "1", "-1", "0", "1e3", "NaN"])
        case 6:
            return [junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
        case 7:
            return {
                str(junk(rng, 2))[:10]: junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))
            }
        case _:
            return b"\x00\x01binary"


def wrong_for(annotation: Any, rng: random.Random) -> Any:
    """A value the field's type refuses (strict models: no coercion)."""
    text = str(annotation)
    if "bool" in text and "int" not in text:
        return rng.choice([1, "true", [], 0.5, {"a": 1}])
    if "int" in text and "str" not in text:
        return rng.choice(["1", 1.5, True, [], {"n": 1}, 10**20])
    return rng.choice([1, 2.5, True, [], {"x": "y"}, "x" * 70_000])


def malformed(rng: random.Random, event: str) -> tuple[str, tuple[Any, ...]]:
    """An (event, args) pair that is wrong by construction."""
    spec = EVENTS.get(event)
    fields = spec.model.model_fields if spec is not None else {}
    defect = rng.randrange(7)
    if defect == 0:  # not an object
        value = junk(rng)
        while isinstance(value, dict):
            value = junk(rng)
        return event, (value,)
    if defect == 1:  # an unknown field beside plausible ones
        payload = {name: junk(rng) for name in fields if rng.random() < 0.5}
        payload[rng.choice(["extra", "__proto__", "role", "phase", "PERSON_ID", "v2"])] = junk(rng)
        return event, (payload,)
    if defect == 2 and fields:  # a field of the wrong type
        name = rng.choice(list(fields))
        payload = {name: wrong_for(fields[name].annotation, rng)}
        return event, (payload,)
    if defect == 3:  # oversized
        return event, ({"pad": "x" * rng.randrange(80_000, 200_000)},)
    if defect == 4:  # no payload, or more than one
        return event, () if rng.random() < 0.5 else ({}, {})
    if defect == 5:  # unknown event names
        name = rng.choice(
            [
                "",
                "room.snapshot",
                "Join",
                "join ",
                "protocol.commands",
                "__init__",
                "connect",
                "disconnect",
                "x" * 300,
                "media.offer",
                "hand.raise\x00",
            ]
        )
        return name, ({},)
    return event, ({k: junk(rng) for k in ("a", "b")},) if not fields else (
        {**{k: junk(rng) for k in fields}, "zz": 1},
    )


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    """The fuzzer sends as fast as acks come back: its budget is raised out of the way
    (``test_rate_limit.py`` covers the budget itself)."""
    s = await make_server(
        sqlite_url, tmp_path, settings={"room_event_rate": 10_000, "room_event_burst": 100_000}
    )
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def test_fuzz_every_event(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    member = server.peer(w.members[0])
    for p in (leader, member):
        await p.enter()
    await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(member.person_id)}
    )
    for _ in range(3):
        await leader.call("protocol.command", {"command": "advance"})
    before = await member.until(lambda s: s["phase"] == "sit_back")
    seen_before = len(member.snapshots)

    rng = random.Random(20260423)
    events = sorted(EVENTS)
    codes: dict[str, int] = {}
    for i in range(N):
        peer = leader if i % 2 else member
        event, args = malformed(rng, events[i % len(events)])
        reply = (
            await peer.sio.call(
                event, args[0] if len(args) == 1 else args, namespace="/room", timeout=10
            )
            if len(args) <= 1 and args
            else await _raw(peer, event, args)
        )
        assert isinstance(reply, dict) and reply.get("ok") is False, (event, args, reply)
        code = reply["error"]["code"]
        assert code in ERROR_CODES, (event, args, reply)
        assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
        codes[code] = codes.get(code, 0) + 1

    assert {"invalid", "too_large", "unknown_event"} <= set(codes), codes
    # nothing changed: no snapshot was sent, the room is where it was, and it still serves
    assert len(member.snapshots) == seen_before
    ok = await leader.call("protocol.command", {"command": "advance"})
    assert ok["ok"], ok
    after = await member.until(lambda s: s["version"] > before["version"])
    assert after["version"] == before["version"] + 1 and after["phase"] == "return"


async def _raw(peer: Any, event: str, args: tuple[Any, ...]) -> Any:
    """Send zero or several arguments (python-socketio's call takes a tuple for several)."""
    data: Any = tuple(args) if args else None
    if not args:
        # call() with data=None sends no argument at all
        return await peer.sio.call(event, None, namespace="/room", timeout=10)
    return await peer.sio.call(event, data, namespace="/room", timeout=10)
