"""Chromium sends layered video and the forwarding unit thins it for one weak receiver only.

Real Chromium pages (fake camera) against the real server and its forwarding unit, in a
private network namespace. The leader's page asks its VP8 encoder for temporal layers
(``scalabilityMode: 'L1T3'``, web_client/src/protocol/scalability.ts): its own ``getStats()``
says so, and the unit sees packets of temporal layers 1 and 2. Two members join audio-only
and receive the leader's video. One of them is then made weak through the engine: its link
estimate (``ReceiverLink.estimate``, what its RTCP feedback would otherwise set) is pinned
between what layer 0 and layers 0-1 of the leader's stream cost, so the unit's own layer
choice (``ReceiverLink.allocate`` -> ``pick_layer``) gives it layer 0 only. Its page decodes
the leader's video at about a quarter of the rate while the other member stays at full rate;
when the estimate is released it climbs back.

A second test makes the weak link with the network instead: that member's page reaches the
server only through TURN, with a rate cap towards it in the impairment relay
(bench/impair.py), and the unit's own loss-based estimate takes the layers away.

Every page sends L1T3 by default. The tile-size rule (a large tile gets every layer, a small
one fewer) is test_e2e_tiles.py. Not covered: loss and delay on the weak link (bench/quality.py measures those with
aiortc), and how long the capped member's video freezes while the estimate settles."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.impair import Impairment, ImpairmentRelay
from server.media.layers import MAX_TID, LinkEstimate
from server.media.receiverlink import AUDIO_SHARE, HEADROOM
from tests.browser.live import LiveServer
from tests.browser.test_e2e_balint import Person, desktop, wait_until
from tests.browser.test_e2e_media_cut import relayed_member
from tests.media.test_turn import PORT, coturn  # noqa: F401  (the coturn fixture)

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(300)]

WINDOW_S = 4.0
# Towards the capped page: the leader's layers 0-2 cost about 100, 150 and 255 kbps (20 fps
# fake camera), two Opus streams about 100 kbps on the wire: layer 0 and audio fit, 0-1 not.
CAP_BPS = 260_000

# The page's own video sender: frames encoded and the scalability mode it reports.
OUTBOUND_VIDEO = """
async () => {
  const pc = (window.__pcs || []).filter((p) => p.connectionState !== "closed").at(-1);
  if (!pc) return null;
  let out = null;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video" && (r.framesEncoded || 0) > 0) {
      out = { frames: r.framesEncoded, mode: r.scalabilityMode || null };
    }
  });
  return out;
}
"""


@dataclass(slots=True)
class PinnedBetweenLayers(LinkEstimate):
    """A receiver's link estimate held where layer 0 of ``source`` fits and layers 0-1 do
    not (the receiver gets one layered stream; its audio comes off first, as in
    ``ReceiverLink.allocate``)."""

    link: Any = None
    source: Any = None

    @property
    def available_bps(self) -> float:
        rates = self.source.layer_rates
        share = (rates.cumulative(0) + rates.cumulative(1)) / 2
        return float(share / HEADROOM + AUDIO_SHARE * self.link.audio_bps)


def fps_together(*fns: Any) -> list[float]:
    """Frames per second of each growing frame counter over one and the same WINDOW_S (rates
    compared with each other are measured in the same window: a busy shared host slows them
    alike)."""
    f0, t0 = [fn() for fn in fns], time.monotonic()
    time.sleep(WINDOW_S)
    f1, span = [fn() for fn in fns], time.monotonic() - t0
    return [float(b - a) / span for a, b in zip(f0, f1, strict=True)]


def test_chromium_sends_layers_and_a_weak_receiver_gets_fewer(
    browser: Any, live_server: LiveServer
) -> None:
    cast = live_server.start(members=2)
    room_id = str(cast.session_id)
    leader = desktop(browser, live_server, cast, cast.leader, "leader-layers")
    strong_id, weak_id = cast.members
    strong = desktop(browser, live_server, cast, strong_id, "strong-layers")
    weak = desktop(browser, live_server, cast, weak_id, "weak-layers")
    people: list[Person] = [leader, strong, weak]
    engine = live_server.engine

    def on_loop(fn: Any) -> Any:
        async def call() -> Any:
            return fn()

        return live_server.run(call())

    def participant(pid: str) -> Any:
        return engine._rooms[room_id].participants[pid]

    def leader_video_down(pid: str) -> Any:
        """The receiver's slot carrying the leader's video."""
        downs = [
            d
            for d in participant(pid).link.downs
            if d.kind == "video" and d.source is not None and d.source.participant_id == leader.id
        ]
        assert len(downs) == 1, downs
        return downs[0]

    def frames(p: Person) -> int:
        return p.inbound(leader.id).get("video", {}).get("frames", 0)

    def sent_frames() -> int:
        out = leader.page.evaluate(OUTBOUND_VIDEO)
        return out["frames"] if out else 0

    try:
        leader.join()
        strong.join("join-audio")
        weak.join("join-audio")
        try:
            for p in (strong, weak):
                decodes = functools.partial(lambda who: frames(who) > 60, p)
                wait_until(decodes, 60, f"{p.tag} decodes the leader's video")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {[p.diagnose() for p in people]}; "
                f"server {live_server.media_stats(cast.session_id)}"
            ) from None

        # --- Chromium sends L1T3: its own stats say so, and the unit sees layers 1 and 2 ----
        out = leader.page.evaluate(OUTBOUND_VIDEO)
        assert out is not None and out["mode"] == "L1T3", out
        up = participant(leader.id).up["video"]
        wait_until(
            lambda: on_loop(lambda: up.layer_rates is not None and min(up.layer_rates.rates) > 0),
            15,
            "bitrate measured on temporal layers 0, 1 and 2",
        )
        rates = on_loop(lambda: list(up.layer_rates.rates))

        # Forwarded intact: both receivers get every layer, at the rate the leader encodes.
        full, fps_strong, fps_weak = fps_together(
            sent_frames, lambda: frames(strong), lambda: frames(weak)
        )
        assert on_loop(lambda: leader_video_down(weak.id).layers.current) == MAX_TID
        assert fps_strong >= 0.8 * full and fps_weak >= 0.8 * full, (full, fps_strong, fps_weak)

        # --- one receiver's link estimate drops: it gets layer 0 only ------------------------
        before = live_server.media_stats(cast.session_id)
        link = participant(weak.id).link

        def pin() -> None:
            link.estimate = PinnedBetweenLayers(link=link, source=up)
            link.allocate()

        on_loop(pin)
        wait_until(
            lambda: on_loop(lambda: leader_video_down(weak.id).layers.current) == 0,
            10,
            "the weak receiver switched to layer 0",
        )
        time.sleep(1.0)  # the decoder's rate settles after the switch
        low_full, low_strong, low_weak = fps_together(
            sent_frames, lambda: frames(strong), lambda: frames(weak)
        )
        weak_layer = on_loop(lambda: leader_video_down(weak.id).layers.current)
        strong_layer = on_loop(lambda: leader_video_down(strong.id).layers.current)
        after = live_server.media_stats(cast.session_id)
        print(
            f"leader encodes {full:.1f} fps (layer rates {[round(r) for r in rates]} bps); "
            f"full: strong {fps_strong:.1f}, weak {fps_weak:.1f} fps; weak link: leader "
            f"{low_full:.1f}, strong {low_strong:.1f} (layer {strong_layer}), weak "
            f"{low_weak:.1f} fps (layer {weak_layer}); layer-dropped "
            f"{after.layer_dropped_packets - before.layer_dropped_packets} packets"
        )
        assert weak_layer == 0 and strong_layer == MAX_TID
        assert low_strong >= 0.8 * low_full, (low_full, low_strong)
        # Layer 0 of L1T3 is a quarter of the frames; the weak receiver still sees video.
        assert 0.1 * low_full <= low_weak <= 0.4 * low_full, (low_full, low_weak)
        assert after.layer_dropped_packets > before.layer_dropped_packets
        assert after.layer_switches > before.layer_switches

        # --- the link recovers: the receiver climbs back to every layer ----------------------
        def release() -> None:
            link.estimate = LinkEstimate()
            link.allocate()

        on_loop(release)
        wait_until(
            lambda: on_loop(lambda: leader_video_down(weak.id).layers.current) == MAX_TID,
            15,
            "the weak receiver back on every layer",
        )
        time.sleep(1.0)
        back_full, back_weak = fps_together(sent_frames, lambda: frames(weak))
        print(f"released: leader {back_full:.1f}, weak {back_weak:.1f} fps")
        assert back_weak >= 0.8 * back_full, (back_full, back_weak)
        assert all(p.errors == [] for p in people)
    finally:
        for p in people:
            p.context.close()


def test_a_capped_receiver_gets_fewer_frames_the_others_full(
    browser: Any,
    live_server: LiveServer,
    coturn: Path,  # noqa: F811
) -> None:
    """The weak link made by the network: the weak member's page reaches the server only
    through TURN, and its TURN traffic crosses the impairment relay with a rate cap towards
    the page (as in test_e2e_media_cut.py). The unit's loss-based estimate, from that page's
    own receiver reports, takes layers away from it alone."""
    cast = live_server.start(members=2)
    room_id = str(cast.session_id)
    relay = ImpairmentRelay(("127.0.0.1", PORT))
    relay_port = live_server.run(relay.start())
    leader = desktop(browser, live_server, cast, cast.leader, "leader-cap")
    strong_id, weak_id = cast.members
    strong = desktop(browser, live_server, cast, strong_id, "strong-cap")
    weak = relayed_member(browser, live_server, weak_id, cast.names[weak_id], relay_port)
    people: list[Person] = [leader, strong, weak]
    engine = live_server.engine

    def on_loop(fn: Any) -> Any:
        async def call() -> Any:
            return fn()

        return live_server.run(call())

    def weak_layer() -> int:
        link = engine._rooms[room_id].participants[weak.id].link
        downs = [d for d in link.downs if d.kind == "video" and d.layers is not None]
        return int(downs[0].layers.current) if downs else MAX_TID

    def frames(p: Person) -> int:
        return p.inbound(leader.id).get("video", {}).get("frames", 0)

    def sent_frames() -> int:
        out = leader.page.evaluate(OUTBOUND_VIDEO)
        return out["frames"] if out else 0

    try:
        leader.join()
        strong.join("join-audio")
        weak.join("join-audio")
        for p in (strong, weak):
            decodes = functools.partial(lambda who: frames(who) > 60, p)
            wait_until(decodes, 60, f"{p.tag} decodes the leader's video")
        # the relay alone costs nothing: full rate once the page's decoder has settled
        seen: list[float] = []

        def weak_at_full_rate() -> bool:
            seen[:] = fps_together(sent_frames, lambda: frames(weak))
            return seen[1] >= 0.8 * seen[0]

        try:
            wait_until(weak_at_full_rate, 30, "full rate")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: layer {on_loop(weak_layer)}, {seen} fps") from None

        cap = Impairment(rate_bps=CAP_BPS, queue_ms=200)
        live_server._loop.call_soon_threadsafe(functools.partial(relay.set, down=cap))
        wait_until(lambda: on_loop(weak_layer) < MAX_TID, 30, "fewer layers for the capped one")
        time.sleep(3.0)
        low_full, low_strong, low_weak = fps_together(
            sent_frames, lambda: frames(strong), lambda: frames(weak)
        )
        print(
            f"cap {CAP_BPS} bps: leader {low_full:.1f} fps, strong {low_strong:.1f}, capped "
            f"{low_weak:.1f} (layer now {on_loop(weak_layer)}); relay down "
            f"{relay.down.counters}"
        )
        assert low_strong >= 0.8 * low_full, (low_full, low_strong)
        assert low_weak <= 0.75 * low_full, (low_full, low_weak)
        assert all(p.errors == [] for p in people)
    finally:
        live_server.run(relay.stop())
        for p in people:
            p.context.close()
