"""A member's media path is cut and comes back: the page says "reconnecting media" while it
is broken, and media flows again both ways within 5 s after the path returns. A 10 s cut
heals on the same peer connection (ICE consent resumes); a 25 s cut outlasts the page's
patience, so it asks the room for a fresh connection (``media.restart``) and the new one
connects once the path is back.

Real Chromium against the real server and its forwarding unit, in a private network
namespace. The member's page reaches the server only through TURN (coturn on 127.0.0.1,
relay-only, credentials minted like the server mints them), and its TURN traffic crosses the
impairment relay (bench/impair.py): page <-> impairment relay <-> coturn <-> server. The cut
is 100 % loss in both directions of that relay. The leader's page connects directly."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench.impair import CLEAR, CUT, ImpairmentRelay
from server.media.ice import turn_rest_credentials
from tests.browser.live import LiveServer
from tests.browser.test_e2e_balint import TRACK_PCS, Person, desktop, wait_until
from tests.media.test_turn import PORT, SECRET, coturn  # noqa: F401  (the coturn fixture)

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(300)]

RECOVERY_S = 5.0

# This page's peer connections use only the given TURN server (the test's network).
FORCE_ICE = """
(() => {
  const forced = %s;
  const Orig = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Orig {
    constructor(cfg, ...rest) { super({ ...(cfg || {}), ...forced }, ...rest); }
  };
})();
"""

# The page's own time on its log lines (the test's timeline of what the page did).
STAMP_LOG = """
(() => {
  const debug = console.debug.bind(console);
  console.debug = (...args) => debug(`@${Date.now()}`, ...args);
})();
"""

# Frames decoded from one person's video tile on the newest live peer connection, the
# number of peer connections, and the type of the selected local candidate.
PROBE = """
async (personId) => {
  const pcs = window.__pcs || [];
  const pc = pcs.filter((p) => p.connectionState !== "closed").at(-1);
  const video = document.querySelector(`li.tile[data-person="${personId}"] video`);
  const stream = video && video.srcObject;
  const out = { pcs: pcs.length, frames: 0, local: null, state: pc ? pc.connectionState : null };
  if (!pc || !stream) return out;
  const ids = new Set(stream.getVideoTracks().map((t) => t.id));
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && ids.has(r.trackIdentifier)) out.frames = r.framesDecoded || 0;
    if (r.type === "transport") pairId = r.selectedCandidatePairId;
  });
  const pair = pairId && stats.get(pairId);
  const local = pair && stats.get(pair.localCandidateId);
  out.local = local ? local.candidateType : null;
  return out;
}
"""


def relayed_member(
    browser: Any, server: LiveServer, person_id: int, name: str, relay_port: int
) -> Person:
    """Like ``desktop()``, but the page's media goes through TURN on ``relay_port`` only."""
    creds = turn_rest_credentials(SECRET, str(person_id), 3600, time.time())
    forced = {
        "iceServers": [
            {
                "urls": [f"turn:127.0.0.1:{relay_port}?transport=udp"],
                "username": creds.username,
                "credential": creds.credential,
            }
        ],
        "iceTransportPolicy": "relay",
    }
    p = Person.__new__(Person)
    p.id, p.name, p.locale, p.tag = str(person_id), name, "en", "member-cut"
    p.context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    p.context.add_init_script(FORCE_ICE % json.dumps(forced))
    p.context.add_init_script(TRACK_PCS)
    p.context.add_init_script(STAMP_LOG)
    p.page = p.context.new_page()
    p.errors = []
    p.page.on("pageerror", lambda e: p.errors.append(str(e)))
    p.page.goto(server.link(person_id))
    p.page.get_by_test_id("signin").get_by_role("button").click()
    return p


@pytest.mark.parametrize(("cut_s", "fresh"), [(10.0, False), (25.0, True)], ids=["10s", "25s"])
def test_cut_media_path_says_so_and_recovers(
    browser: Any,
    live_server: LiveServer,
    coturn: Path,  # noqa: F811
    cut_s: float,
    fresh: bool,
) -> None:
    cast = live_server.start(members=1)
    relay = ImpairmentRelay(("127.0.0.1", PORT))
    relay_port = live_server.run(relay.start())

    def set_relay(**kw: Any) -> None:
        live_server._loop.call_soon_threadsafe(functools.partial(relay.set, **kw))

    leader = desktop(browser, live_server, cast, cast.leader, "leader-cut")
    (mid,) = cast.members
    member = relayed_member(browser, live_server, mid, cast.names[mid], relay_port)
    banner = member.page.get_by_test_id("media-banner")
    timeline: list[tuple[float, str]] = []
    member.page.on("console", lambda m: timeline.append((time.monotonic(), m.text)))
    try:
        leader.join()
        member.join()

        def member_sees() -> dict[str, Any]:
            return member.page.evaluate(PROBE, leader.id)  # type: ignore[no-any-return]

        def leader_sees() -> dict[str, Any]:
            return leader.page.evaluate(PROBE, member.id)  # type: ignore[no-any-return]

        try:
            wait_until(lambda: member_sees()["frames"] > 30, 60, "the member decodes the leader")
            wait_until(lambda: leader_sees()["frames"] > 30, 60, "the leader decodes the member")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: member {member.diagnose()}; leader {leader.diagnose()}; "
                f"relay up {relay.up.counters}, down {relay.down.counters}"
            ) from None
        assert member_sees()["local"] == "relay"  # really through TURN and the relay
        assert banner.is_hidden()
        before = relay.up.counters.delivered
        wait_until(lambda: relay.up.counters.delivered > before + 100, 10, "media via the relay")

        # --- the cut -----------------------------------------------------------------------
        set_relay(up=CUT, down=CUT)
        cut_at = time.monotonic()
        cut_wall = time.time()
        saw_message_at: float | None = None
        while time.monotonic() - cut_at < cut_s:
            if saw_message_at is None and banner.is_visible():
                saw_message_at = time.monotonic() - cut_at
                assert banner.inner_text() == "Reconnecting media…"
            time.sleep(0.2)
        assert saw_message_at is not None, f"no message during the cut: {member.diagnose()}"

        # --- the path returns ----------------------------------------------------------------
        set_relay(up=CLEAR, down=CLEAR)
        back_at = time.monotonic()
        m0, l0 = member_sees(), leader_sees()
        flowing_at: dict[str, float] = {}
        while time.monotonic() - back_at < 30 and len(flowing_at) < 2:
            for who, probe, start in (("member", member_sees, m0), ("leader", leader_sees, l0)):
                if who in flowing_at:
                    continue
                now = probe()
                if now["pcs"] != start["pcs"]:
                    start.update(now)  # a fresh connection: count from its own start
                    start["frames"] = 0
                if now["frames"] >= start["frames"] + 10:
                    flowing_at[who] = time.monotonic() - back_at
            time.sleep(0.1)
        assert len(flowing_at) == 2, (
            f"media did not flow again: {flowing_at}; member {member.diagnose()}; "
            f"leader {leader.diagnose()}"
        )
        wait_until(banner.is_hidden, 10, "the message gone once media is back")
        print(
            f"message after {saw_message_at:.1f} s of the cut; media again after "
            f"{flowing_at['member']:.1f} s (member receives), {flowing_at['leader']:.1f} s "
            f"(leader receives); member peer connections {member_sees()['pcs']}"
        )
        for at, text in timeline:
            if at >= cut_at and "[circle]" in text:
                stamp, _, rest = text.partition(" ")
                page_s = int(stamp[1:]) / 1000 - cut_wall
                print(f"  {at - cut_at:6.1f} s (page {page_s:6.1f} s)  {rest}")
        # 10 decoded frames at up to 30 fps plus polling: flowing within RECOVERY_S
        assert max(flowing_at.values()) <= RECOVERY_S, flowing_at
        # A short cut heals on the same connection; a long one got a fresh one from the room.
        assert (member_sees()["pcs"] > 1) == fresh
        assert member.errors == [] and leader.errors == []
    finally:
        live_server.run(relay.stop())
        for p in (leader, member):
            p.context.close()
