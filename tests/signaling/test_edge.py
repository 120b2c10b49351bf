"""The Engine.IO/Socket.IO edge, with raw frames on a real server: undecodable, deeply
nested and oversized packets are answered (or the connection closed) with a clear reason,
cost an event of the budget, and leave one warning in the log, never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import GroupRole
from server.signaling.edge import MAX_DEPTH, PACKET_MAX_CHARS, TRANSPORT_MAX_BYTES, too_deep

from .conftest import Server, make_server
from .raw import NS, RawSocket

BURST = 30

# (what, the frame after "42/room,<id>")
ANSWERABLE = [
    ("nested 5000 deep", "[" * 5000 + "]" * 5000),
    ("nested in the payload", '["hello",' + '{"a":' * 50 + "1" + "}" * 50 + "]"),
    ("not JSON", '["hello",{'),
    ("an object, not [name, payload]", '{"a":1}'),
    ("an empty list", "[]"),
    ("a string", '"hello"'),
    ("a number for a name", "[1,{}]"),
    ("a lone surrogate", '["hello",{"v":"\\ud800"}]'),
]


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(
        sqlite_url, tmp_path, settings={"room_event_rate": 1, "room_event_burst": BURST}
    )
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def _member_socket(server: Server, index: int = 0) -> RawSocket:
    peer = server.peer(server.world.members[index], GroupRole.MEMBER)
    sock = await RawSocket.open(server.url, peer.token())
    hello = await sock.call("hello", {"v": 1})
    assert hello["ok"], hello
    return sock


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith(("server", "circle", "engineio", "socketio", "aiohttp"))
    ]


async def test_malformed_packets_are_answered_charged_and_logged_once(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sock = await _member_socket(server)
    try:
        for what, frame in ANSWERABLE:
            reply = await sock.call_raw(frame)
            assert reply["ok"] is False and reply["error"]["code"] == "invalid", (what, reply)
            assert reply["error"]["message"], what
        # Each refused packet cost an event: hello + 8 refused so far; the budget (30, no
        # refill on the test's manual clock) runs out at the 30th packet, whatever its kind.
        spent = 1 + len(ANSWERABLE)
        codes = []
        for i in range(BURST - spent + 3):
            reply = await sock.call_raw(ANSWERABLE[i % len(ANSWERABLE)][1])
            codes.append(reply["error"]["code"])
        assert codes[: BURST - spent] == ["invalid"] * (BURST - spent)
        assert codes[BURST - spent :] == ["rate_limited"] * 3
        # a well-formed event is refused by the same budget
        still = await sock.call("hello", {"v": 1})
        assert still["error"]["code"] == "rate_limited"
    finally:
        await sock.close()

    records = _records(caplog)
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info], [
        r.getMessage() for r in records if r.levelno >= logging.ERROR or r.exc_info
    ]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "refused a packet" in warnings[0].getMessage(), [
        r.getMessage() for r in warnings
    ]


async def test_packets_that_cannot_be_answered_close_the_connection(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # A binary event asked for an answer: it gets one, and its attachments are dropped unread.
    sock = await _member_socket(server)
    try:
        await sock.send(f'452-{NS},77["hello",{{"_placeholder":true,"num":0}},1]')
        await sock.send(b"\x00" * 10)
        await sock.send(b"\x01" * 10)
        reply = await sock.ack(77)
        assert reply["error"]["code"] == "invalid" and "Binary" in reply["error"]["message"]
        assert (await sock.call("hello", {"v": 1}))["ok"]
    finally:
        await sock.close()
    frames: list[str | bytes] = [
        f"43{NS},5[1]",  # an ack the server never asked for
        f"462-{NS},6[1]",  # a binary ack
        '40/other,{"token":"x"}',  # another namespace
        '42/,7["hello",{"v":1}]',  # an event to the default namespace
        f'42{NS}["hello",{{"v":1}}' + "[" * 3000,  # no id, undecodable
        b"\x00\x01binary",  # an attachment of nothing
    ]
    for frame in frames:
        sock = await _member_socket(server)
        try:
            await sock.send(frame)
            # closed with 1008 and the reason, e.g. "invalid: The payload is not valid JSON."
            assert await sock.wait_closed(5) == 1008, frame
            assert sock.close_reason.startswith("invalid: "), (frame, sock.close_reason)
        finally:
            await sock.close()
    # and at the Engine.IO level: frames no client sends close the websocket with 1008
    for frame in ["", "x", "4", "9", "4x", "2" + "[" * 3000, '4{"a":1}']:
        sock = await _member_socket(server)
        try:
            await sock.send(frame)
            assert await sock.wait_closed(5) == 1008, repr(frame)
        finally:
            await sock.close()
    bad = [r for r in _records(caplog) if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]
    # the server still serves
    sock = await _member_socket(server, 1)
    await sock.close()


async def test_payload_limit_is_answered_too_large_up_to_the_transport_limit(
    server: Server,
) -> None:
    sock = await _member_socket(server)
    try:
        for size in (100 * 1024, 300 * 1024, TRANSPORT_MAX_BYTES - 4096):
            reply = await sock.call("leader.note", {"text": "x" * size})
            assert reply["ok"] is False and reply["error"]["code"] == "too_large", size
        assert PACKET_MAX_CHARS < 300 * 1024
        # above the transport's limit the websocket is closed (1009: message too big)
        frame, _ = sock.event_frame("leader.note", {"text": "x" * TRANSPORT_MAX_BYTES})
        await sock.send(frame)
        assert await sock.wait_closed(10) == 1009
    finally:
        await sock.close()


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\a'), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES)
def test_depth_is_measured_on_the_json_not_on_brackets_in_strings(value: Any) -> None:
    text = json.dumps(value)
    assert too_deep(text) == (_depth(value) > MAX_DEPTH)


async def test_long_polling_is_refused_without_a_traceback(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http:
        url = server.url + "/socket.io/?EIO=4&transport=polling"
        async with http.get(url) as resp:
            assert resp.status == 400
        async with http.post(url, data=b"4" + b"[" * 10_000) as resp:
            assert resp.status == 400
        for _ in range(20):
            async with http.get(url) as resp:
                assert resp.status == 400
    records = _records(caplog)
    assert not [r for r in records if r.exc_info]
    # python-engineio says "Invalid transport" once per process, then only at INFO
    assert len([r for r in records if r.levelno >= logging.WARNING]) <= 1
