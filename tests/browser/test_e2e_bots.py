"""A real browser in a room with synthetic members (``circle bots``): headless Chromium with
fake devices joins the real server and its forwarding unit, four aiortc bots join the same
session over Socket.IO, and the page's ``getStats()`` shows inbound video frames decoded and
audio packets from every bot; the bots receive the browser's media too. Then the browser's
media connection dies without a goodbye and is replaced while the page stays in the room. In a
private network namespace, like the other end-to-end tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.auth.tokens import mint_join_token
from server.bots.bot import run_bots
from server.domain import GroupRole
from tests.browser.live import LiveServer
from tests.browser.test_e2e_balint import desktop, wait_until
from tests.conftest import SECRET

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(300)]

BOTS = 4
PEER_CONNECTIONS = "() => (window.__pcs || []).length"
# The SSRCs Chromium has sender reports for (remote-outbound-rtp), per received stream that
# carried packets: the unit sends every slot's SR in one compound per connection
# (server/media/reports.py) and Chromium must find each one in it.
REPORTED = """async () => {
  const pcs = window.__pcs || [];
  const pc = pcs[pcs.length - 1];
  if (!pc) return {inbound: [], reported: []};
  const inbound = [], reported = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.packetsReceived > 0) inbound.push(s.ssrc);
    if (s.type === 'remote-outbound-rtp') reported.push(s.ssrc);
  });
  return {inbound, reported};
}"""


def test_browser_receives_every_bot(browser: Any, live_server: LiveServer) -> None:
    cast = live_server.start(members=BOTS)
    leader = desktop(browser, live_server, cast, cast.leader, "leader-bots")
    tokens = [
        (
            f"Bot {i + 1}",
            mint_join_token(
                SECRET, person_id=pid, session_id=cast.session_id, role=GroupRole.MEMBER
            ),
        )
        for i, pid in enumerate(cast.members)
    ]
    stop = asyncio.Event()
    bots = asyncio.run_coroutine_threadsafe(
        run_bots(live_server.url, tokens, stop=stop), live_server._loop
    )
    try:
        leader.join()
        wait_until(
            lambda: leader.page.locator("li.tile").count() == 1 + BOTS, 45, "a tile for each bot"
        )
        bot_ids = [str(pid) for pid in cast.members]

        def every_bot_seen_and_heard() -> bool:
            for pid in bot_ids:
                stats = leader.inbound(pid)
                if stats.get("video", {}).get("frames", 0) < 30:
                    return False
                if stats.get("audio", {}).get("packets", 0) < 50:
                    return False
            return True

        try:
            wait_until(every_bot_seen_and_heard, 60, "30 video frames and 50 audio packets per bot")
        except AssertionError as exc:
            stats = live_server.media_stats(cast.session_id)
            raise AssertionError(
                f"{exc}: {[leader.inbound(p) for p in bot_ids]}; server {stats}; "
                f"page {leader.diagnose()}"
            ) from None

        # Every stream the browser receives has its sender report (one compound per
        # connection), and the unit measures the browser's round trip from the receiver
        # reports that answer them.
        def every_stream_reported() -> bool:
            seen = leader.page.evaluate(REPORTED)
            return len(seen["inbound"]) >= 2 * BOTS and set(seen["inbound"]) <= set(
                seen["reported"]
            )

        wait_until(every_stream_reported, 30, "a sender report for every received stream")

        def leader_rtt() -> float:
            engine = live_server.engine
            room = engine._rooms[str(cast.session_id)]
            return float(room.participants[str(cast.leader)].link.estimate.rtt_s)

        wait_until(lambda: leader_rtt() > 0, 30, "the browser's round trip measured")

        # The bots get the browser's media through the same unit: everything the leader
        # publishes goes out to the four of them.
        def leader_forwarded() -> int:
            room = live_server.media_stats(cast.session_id)
            mine = [p for p in room.per_participant if p.participant_id == str(cast.leader)]
            return mine[0].forwarded_packets if mine else 0

        wait_until(lambda: leader_forwarded() > 500, 30, "the browser's media forwarded")

        # The browser's media dies without a goodbye while its socket stays (a network change
        # that ICE does not survive): the engine's reaper removes it, the room gives it a
        # fresh connection, and the page follows the new offer with a new peer connection.
        async def lose_leader_media() -> None:
            engine = live_server.engine
            participant = engine._rooms[str(cast.session_id)].participants[str(cast.leader)]
            await engine._lost_hook(participant)

        live_server.run(lose_leader_media())
        wait_until(
            lambda: leader.page.evaluate(PEER_CONNECTIONS) == 2, 30, "a second peer connection"
        )
        wait_until(every_bot_seen_and_heard, 60, "every bot again on the new connection")
        wait_until(lambda: leader_forwarded() > 100, 30, "the browser's media forwarded again")
        stats = live_server.media_stats(cast.session_id)
        assert stats.participants == 1 + BOTS
        assert stats.dropped_packets == 0 and stats.policed_packets == 0
        leader.shot("with-bots")
        assert leader.errors == []
    finally:
        live_server._loop.call_soon_threadsafe(stop.set)
        bots.result(30)
        leader.context.close()
