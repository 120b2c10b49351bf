"""Thousands of random and malformed payloads to every event: each answered with an error,
nothing changes, the server keeps serving."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.domain import GroupRole
from server.signaling import EVENTS

from .conftest import Server, make_server
from .raw import NS, RawSocket

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


# ---- raw frames: what no client library would send ------------------------------------------
# At least RAW_N frames that ask for an answer, each answered, plus frames that cannot be
# answered, each closing its connection; nothing in the room changes and the log stays small.

RAW_N = 10_000
BATCH = 50
LOG_LIMIT = 64 * 1024  # bytes of log for the whole run (one warning per connection)
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("hello", {"v": 1}),
    ("hand.raise", {}),
    ("hand.lower", {"person_id": "3"}),
    ("mic.set", {"muted": False}),
    ("cam.set", {"off": True}),
    ("leader.note", {"text": "hi \u0641"}),
    ("protocol.command", {"command": "advance"}),
    ("media.candidate", {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}),
    ("media.answer", {"sdp": "v=0"}),
]
ALPHABET = '[]{},:"\\ 0123456789.eE+-truefalsn\x00\u202e\U0001f600/a'
CLOSERS: list[str | bytes] = [
    "43/room,5[1]",  # an ack the server never asked for
    '462-/room,6[{"_placeholder":true,"num":0}]',  # a binary ack
    "42/room," + "[" * 20 + "]" * 20,  # too deep, no id to answer
    '42/room,["hello",{',  # undecodable, no id
    b"\x00\x01",  # a binary frame on its own
    "",  # Engine.IO: empty
    "x",  # Engine.IO: unknown type
    "4",  # Engine.IO: a message without a packet
    "2" + "[" * 5000,  # Engine.IO: JSON on a control frame
    '4{"a":1}',  # Engine.IO: JSON where a packet belongs
]


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(3)
        at = rng.randrange(len(chars) + 1)
        if op == 0 or not chars:
            chars.insert(at, rng.choice(ALPHABET))
        elif op == 1:
            del chars[min(at, len(chars) - 1)]
        else:
            chars[min(at, len(chars) - 1)] = rng.choice(ALPHABET)
    return "".join(chars)


def hostile_body(rng: random.Random, i: int) -> str:
    """The part of ``42/room,<id>...`` after the id: wrong in one of many ways."""
    name, payload = rng.choice(TEMPLATES)
    valid = json.dumps([name, payload], separators=(",", ":"), ensure_ascii=rng.random() < 0.5)
    kind = rng.randrange(8)
    if i % 1000 == 999:  # oversized (not decoded): answered too_large
        body = '["leader.note",{"text":"' + "x" * rng.randrange(130_000, 900_000) + '"}]'
    elif kind <= 2:
        body = mutate(rng, valid)
    elif kind == 3:
        depth = rng.choice([9, 10, 50, 1000, 20_000])
        opener = rng.choice(["[", '{"a":'])
        closer = "]" if opener == "[" else "}"
        body = f'["{name}",' + opener * depth + "1" + closer * depth + "]"
    elif kind == 4:
        body = json.dumps([junk(rng) if rng.random() < 0.3 else name, junk(rng)], default=repr)
    elif kind == 5:
        body = rng.choice(
            [
                f'["{name}",{{"v":1e999}}]',
                f'["{name}",{{"v":NaN}}]',
                f'["{name}",{{"v":-Infinity}}]',
                f'["{name}",{{"v":{"9" * 5000}}}]',  # past Python's int-parsing limit
                f'["{name}",{{"a":1,"a":2}}]',
                f'["{name}",{{"__proto__":{{"admin":true}}}}]',
                f'["{name}",{{"v":"\\ud800\\udfff\\u0000"}}]',
                f'["{name}"]',
                f'["{name}",{{}},{{}},{{}}]',
                "\ufeff" + valid,
                valid[:-1],
                "null",
                '"' + name + '"',
                "{}",
                "[]",
                "",
            ]
        )
    elif kind == 6:
        body = json.dumps([rng.choice(["join ", "JOIN", "x" * 300, "", "room.snapshot"]), {}])
    else:
        extra = {rng.choice(["role", "phase", "zz"]): junk(rng)}
        body = json.dumps([name, {**payload, **extra}], default=repr)
    return " " + body if body[:1].isdigit() else body


@pytest.fixture
async def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.slow
async def test_raw_frame_fuzz(server: Server, caplog_info: pytest.LogCaptureFixture) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    member = server.peer(w.members[0])
    for p in (leader, member):
        await p.enter()
    before = member.last
    seen_before = len(member.snapshots)
    attackers = [w.members[1], w.members[2]]

    async def attacker(person_id: int) -> RawSocket:
        sock = await RawSocket.open(server.url, server.peer(person_id).token())
        assert (await sock.call("hello", {"v": 1}))["ok"]
        return sock

    rng = random.Random(20261206)
    socks = [await attacker(pid) for pid in attackers]
    codes: dict[str, int] = {}
    sent = closed = 0
    started = time.monotonic()
    try:
        while sent < RAW_N:
            sock = socks[sent // BATCH % len(socks)]
            ids = []
            for _ in range(BATCH):
                ack_id = sock.next_id
                sock.next_id += 1
                await sock.send(f"42{NS},{ack_id}{hostile_body(rng, sent)}")
                ids.append(ack_id)
                sent += 1
            for ack_id in ids:
                reply = await sock.ack(ack_id)
                assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool), reply
                code = "ok" if reply["ok"] else reply["error"]["code"]
                codes[code] = codes.get(code, 0) + 1
            if sent % 1000 == 0:  # now and then, frames that can only close the connection
                for frame in CLOSERS:
                    victim = await attacker(attackers[0])
                    await victim.send(frame)
                    assert await victim.wait_closed(10) is not None or victim.closed, frame
                    await victim.close()
                    closed += 1
    finally:
        for sock in socks:
            await sock.close()
    elapsed = time.monotonic() - started

    assert sent >= RAW_N and closed >= len(CLOSERS) * 10
    assert {"invalid", "too_large", "unknown_event"} <= set(codes), codes
    assert set(codes) <= ERROR_CODES | {"ok", "forbidden", "not_in_room", "media_unavailable"}
    # nothing changed in the room, which still serves
    assert len(member.snapshots) == seen_before
    assert (await member.call("hello", {"v": 1}))["ok"]
    ok = await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(member.person_id)}
    )
    assert ok["ok"], ok
    after = await member.until(lambda s: s["version"] > before["version"])
    assert after["version"] == before["version"] + 1
    # the log: no error, no traceback, and small
    records = caplog_info.records
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    size = sum(len(r.getMessage()) + 60 for r in records)
    assert size < LOG_LIMIT, (size, len(records))
    print(f"raw fuzz: {sent} answered + {closed} closing frames in {elapsed:.1f} s; {codes}")
