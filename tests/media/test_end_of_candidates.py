"""The client's end-of-candidates is what lets the server give up on a connection that cannot
connect: without it aioice waits for more candidates forever and the engine's media-lost path
(the room's restart) never runs; with it the connection fails and the handler is called."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any

import pytest

from server.errors import UserError
from server.media.port import IceCandidate
from tests.media.harness import ROOM, Clips, Harness, wait_until

pytestmark = pytest.mark.media


def strip_candidates(sdp: str) -> str:
    drop = ("a=candidate:", "a=end-of-candidates")
    return "\r\n".join(ln for ln in sdp.split("\r\n") if not ln.startswith(drop))


async def test_end_of_candidates_lets_a_dead_connection_fail_and_restart(clips: Clips) -> None:
    lost: list[tuple[str, str]] = []
    got_lost = asyncio.Event()

    async def on_lost(room: str, person: str) -> None:
        lost.append((room, person))
        got_lost.set()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # a port that never answers: the path is dead
        dead_port = silent.getsockname()[1]
        async with Harness(clips) as h:
            h.engine.set_media_lost_handler(on_lost)
            client = h.make_client("a")
            h.clients["a"] = client
            inner = client.handle_offer

            async def towards_nothing(payload: dict[str, Any]) -> str:
                sdp = re.sub(
                    r" 127\.0\.0\.1 \d+ typ host",
                    f" 127.0.0.1 {dead_port} typ host",
                    payload["sdp"],
                )
                return await inner({**payload, "sdp": sdp})

            client.handle_offer = towards_nothing  # type: ignore[method-assign]

            async def deliver(answer: str) -> None:
                await h.engine.handle_answer(ROOM, "a", strip_candidates(answer))

            client.start(deliver)
            await h.engine.add_participant(ROOM, "a", client.signal)
            server_side = h.engine._rooms[ROOM].participants["a"]
            await wait_until(
                lambda: server_side.pc.signalingState == "stable", 10, "answer applied"
            )
            await asyncio.sleep(3)  # without end-of-candidates: still waiting, nothing lost
            assert lost == []
            assert server_side.pc.connectionState in ("new", "connecting")

            await h.engine.handle_candidate(ROOM, "a", IceCandidate(""))
            await h.engine.handle_candidate(ROOM, "a", IceCandidate(""))  # twice: harmless
            with pytest.raises(UserError, match="after end-of-candidates"):
                await h.engine.handle_candidate(
                    ROOM, "a", IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0")
                )
            await asyncio.wait_for(got_lost.wait(), 10)
            assert lost == [(ROOM, "a")]
            assert "a" not in h.engine._rooms[ROOM].participants
