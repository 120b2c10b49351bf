"""When the media engine drops a present person's connection without a goodbye (ICE consent
lost after a network change), their room gives them a fresh one at once, with the room's
rules already applied; someone who is not present gets nothing; and a connection that keeps
dying is not restarted forever."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from server.domain import GroupRole
from server.rooms.media_link import MEDIA_RESTART_WINDOW_MS, MEDIA_RESTARTS_MAX
from tests.fakes_rooms import FakeMediaEngine

from .conftest import Peer, Server


def offers(peer: Peer) -> int:
    return sum(1 for name, _ in peer.events if name == "media.offer")


async def wait_offers(peer: Peer, n: int, wait_s: float = 10) -> None:
    async def reached() -> None:
        while offers(peer) < n:
            await peer._changed.wait()  # replaced by a fresh event after every arrival

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reached(), wait_s)
    assert offers(peer) >= n, f"{offers(peer)} offers, expected {n}"


async def settle(peer: Peer) -> None:
    """An acked round trip through the room's queue: everything posted before is handled."""
    assert (await peer.call("hand.lower", {}))["ok"] is not None


async def sit_back(server: Server) -> tuple[Peer, Peer, FakeMediaEngine, str]:
    media = server.media
    assert media is not None
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    presenter = server.peer(w.members[0])
    await leader.enter()
    await presenter.enter()
    await wait_offers(presenter, 1)
    await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(presenter.person_id)}
    )
    for _ in range(3):
        await leader.call("protocol.command", {"command": "advance"})
    await presenter.until(lambda s: s["phase"] == "sit_back")
    return leader, presenter, media, str(w.session_id)


async def test_lost_media_is_restarted_with_the_rules_applied(media_server: Server) -> None:
    _, presenter, media, sid = await sit_back(media_server)
    pid = str(presenter.person_id)
    before = offers(presenter)
    await media.lose(sid, pid)
    await wait_offers(presenter, before + 1)
    assert pid in media.participants[sid]
    # The rights were given before the new connection existed: muted in sit-back, visible.
    assert media.calls[-1] == f"add {pid} (False, True)"
    assert media.rights[(sid, pid)] == (False, True)


async def test_restarts_are_bounded_then_allowed_again(media_server: Server) -> None:
    _, presenter, media, sid = await sit_back(media_server)
    pid = str(presenter.person_id)
    for _ in range(MEDIA_RESTARTS_MAX):
        n = offers(presenter)
        await media.lose(sid, pid)
        await wait_offers(presenter, n + 1)
    n = offers(presenter)
    await media.lose(sid, pid)
    await settle(presenter)
    assert offers(presenter) == n and pid not in media.participants[sid]
    media_server.clock.advance(MEDIA_RESTART_WINDOW_MS)
    await media.lose(sid, pid)
    await wait_offers(presenter, n + 1)
    assert pid in media.participants[sid]


async def test_nobody_absent_gets_media(media_server: Server) -> None:
    leader, presenter, media, sid = await sit_back(media_server)
    pid = str(presenter.person_id)
    await presenter.close()
    await leader.until(
        lambda s: any(
            p["person_id"] == pid and p["presence"] == "reconnecting" for p in s["participants"]
        )
    )
    adds = [c for c in media.calls if c.startswith(f"add {pid}")]
    await media.lose(sid, pid)
    await media.lose(sid, "not-a-number")
    await settle(leader)
    assert [c for c in media.calls if c.startswith(f"add {pid}")] == adds
    assert pid not in media.participants[sid]


async def test_a_reconnecting_presenter_is_muted_from_the_first_packet(
    media_server: Server,
) -> None:
    _, presenter, media, _ = await sit_back(media_server)
    pid = str(presenter.person_id)
    await presenter.close()
    again = media_server.peer(int(pid))
    snapshot: dict[str, Any] = await again.enter()
    assert snapshot["phase"] == "sit_back"
    assert media.calls[-1] == f"add {pid} (False, True)"
