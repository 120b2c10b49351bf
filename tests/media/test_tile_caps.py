"""One receiver's layers per publisher (no network): a browser's REMB does not take video
away (it locked receivers out after a reload), and the page's tile sizes cap the layers of
each publisher on their own, under whatever the link allows."""

from __future__ import annotations

import pytest

from server.media.forwarding import DownTrack, ReceiverLink, UpTrack
from server.media.layers import MAX_TID, share_out
from server.media.port import TILE_MAX_LAYER, TileSize
from server.media.receiverlink import UP_MARGIN
from server.media.sfu import AiortcMediaEngine
from tests.media import fakes as fake_objects
from tests.media.test_layers import frame_packets


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_objects.install(monkeypatch)


async def receiver_of(*publishers: str) -> tuple[ReceiverLink, dict[str, DownTrack]]:
    """A receiver with one layered video slot per publisher, a key frame and three more
    frames through each (so each slot has its filter and each publisher its layer rates)."""
    link = ReceiverLink()
    downs: dict[str, DownTrack] = {}
    for pid in publishers:
        up = UpTrack(pid, "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
        down = DownTrack("r", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
        up.add_down(down)
        down.link = link
        link.downs.append(down)
        down.ready = True
        for i in range(4):
            for p in frame_packets(i, 2 * i, key=i == 0):
                await up.on_packet(p)
        assert up.layer_rates is not None and down.layers is not None
        up.layer_rates.rates = [100_000.0, 50_000.0, 100_000.0]
        downs[pid] = down
    return link, downs


def targets(downs: dict[str, DownTrack]) -> dict[str, int]:
    out = {}
    for pid, d in downs.items():
        assert d.layers is not None
        out[pid] = d.layers.target
    return out


async def test_a_browser_remb_does_not_take_video_away() -> None:
    """Chrome's REMB for forwarded video (no abs-send-time) stays near 1.5 times what it
    receives: taken as a cap it pulled a fresh receiver to no video, which kept it low."""
    link, downs = await receiver_of("a")
    link.on_remb(60_000)  # below layer 0's 100 kbps
    link.allocate()
    assert targets(downs) == {"a": MAX_TID}


async def test_tile_caps_apply_per_publisher_under_the_link() -> None:
    link, downs = await receiver_of("a", "b")
    link.set_tile_cap("b", TILE_MAX_LAYER[TileSize.SMALL])
    assert targets(downs) == {"a": 2, "b": 1}  # at once, without waiting for feedback
    link.set_tile_cap("a", TILE_MAX_LAYER[TileSize.HIDDEN])
    assert targets(downs) == {"a": 0, "b": 1}
    # a weak link takes more than the tile does: the link wins (150k each, with the headroom
    # a layer up needs: layers 0-1)
    link.estimate.estimate_bps = 2 * 150_000 * UP_MARGIN / 0.92 + 1
    link.set_tile_cap("a", TILE_MAX_LAYER[TileSize.LARGE])
    assert targets(downs) == {"a": 1, "b": 1}
    link.estimate.estimate_bps = 10_000_000
    link.set_tile_cap("b", None)  # no longer named: no cap
    assert targets(downs) == {"a": 2, "b": 2}


async def test_what_a_small_tile_leaves_goes_to_the_other_streams() -> None:
    """Two publishers on a link that gives each an equal 202 kbps (layers 0-1 of 250): the
    one shown hidden needs layer 0 only (100 kbps, with headroom 115), and the other gets the
    rest: all its layers."""
    link, downs = await receiver_of("a", "b")
    link.estimate.estimate_bps = (115_000 + 290_000) / 0.92
    link.allocate()
    assert targets(downs) == {"a": 1, "b": 1}  # equal shares
    link.set_tile_cap("b", TILE_MAX_LAYER[TileSize.HIDDEN])
    assert targets(downs) == {"a": 2, "b": 0}
    assert share_out(300.0, [50.0, 400.0, 400.0]) == [50.0, 125.0, 125.0]
    assert share_out(300.0, [50.0, 60.0]) == [145.0, 155.0]  # all served: the rest alike


async def test_a_new_stream_starts_at_its_tile_cap() -> None:
    link, downs = await receiver_of("a")
    link.set_tile_cap("b", 0)  # before b's video reaches this receiver
    _, more = await receiver_of("b")
    d = more["b"]
    assert d.source is not None
    d.rebind(d.source)  # the slot starts again, now on this receiver's link
    d.link = link
    link.downs.append(d)
    d.ready = True
    for i in range(4, 8):
        for p in frame_packets(i, 2 * i, key=i == 4):
            await d.source.on_packet(p)
    assert d.layers is not None and d.layers.target == 0 and d.layers.current == 0
    assert targets(downs) == {"a": 2}


class _Receiver:
    """What the engine's set_view touches of a participant: its link."""

    def __init__(self) -> None:
        self.link = ReceiverLink()


async def test_the_engine_maps_a_view_to_caps_and_replaces_the_last() -> None:
    engine = AiortcMediaEngine()
    await engine.open_room("r")
    try:
        receiver = _Receiver()
        engine._rooms["r"].participants["me"] = receiver  # type: ignore[assignment]
        engine.set_view("r", "me", {"a": TileSize.LARGE, "b": TileSize.SMALL})
        assert receiver.link.tile_caps == {"a": 2, "b": 1}
        engine.set_view("r", "me", {"a": TileSize.HIDDEN})
        assert receiver.link.tile_caps == {"a": 0}  # b no longer named: no cap
        engine.set_view("r", "nobody", {"a": TileSize.SMALL})  # not connected: nothing
        del engine._rooms["r"].participants["me"]
    finally:
        await engine.close_room("r")
