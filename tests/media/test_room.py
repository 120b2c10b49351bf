"""A full room through the SFU: fan-out, mid-stream joiners, speaker detection."""

from __future__ import annotations

import time

import pytest

from tests.media.harness import ROOM, Clips, Harness, wait_until

pytestmark = pytest.mark.media

KINDS = ("audio", "video")


async def test_twelve_participants_each_receive_the_other_eleven(clips: Clips) -> None:
    async with Harness(clips) as h:
        pids = [f"p{i:02d}" for i in range(12)]
        for i, pid in enumerate(pids):
            # p00 really decodes p01's media to prove it is real
            await h.join(pid, decode_from=["p01"] if pid == "p00" else (), start_index=i)
        await h.wait_connected(45)  # generous: the test machines are shared and noisy

        def everyone_gets_everyone(n: int) -> bool:
            return all(
                h.clients[me].frames_from(other, kind) >= n
                for me in pids
                for other in pids
                if other != me
                for kind in KINDS
            )

        await wait_until(lambda: everyone_gets_everyone(10), 45, "10 frames of each of 11 others")
        rec = h.clients["p00"].received[("p01", "video")]
        assert rec.decoded >= 10
        assert rec.sizes and rec.sizes[0] == (160, 90)
        assert h.clients["p00"].received[("p01", "audio")].decoded >= 10
        before = h.engine.stats(ROOM)
        await wait_until(
            lambda: h.engine.stats(ROOM).received_packets >= before.received_packets + 500,
            20,
            "500 more packets in",
        )
        after = h.engine.stats(ROOM)
        assert after.participants == 12
        assert after.dropped_packets == 0
        # once everyone is connected, every packet in goes out to the 11 others
        received = after.received_packets - before.received_packets
        forwarded = after.forwarded_packets - before.forwarded_packets
        assert forwarded >= 10.5 * received
        assert all(not c.errors for c in h.clients.values())


async def test_joiner_mid_stream_decodes_video_within_one_second(clips: Clips) -> None:
    async with Harness(clips) as h:
        for pid in ("a", "b", "c"):
            await h.join(pid)
        await h.wait_connected()
        await wait_until(lambda: h.clients["a"].frames_from("b", "video") >= 20, 10, "stream up")

        a_from_b = h.clients["a"].frames_from("b", "video")
        started = time.monotonic()
        joiner = await h.join("late", decode_from=["a", "b", "c"])
        await wait_until(
            lambda: (
                all(joiner.received.get((p, "video")) is not None for p in "abc")
                and all(joiner.received[(p, "video")].decoded > 0 for p in "abc")
            ),
            5,
            "the joiner's first decoded frames",
        )
        first = max(joiner.received[(p, "video")].first_decoded_at or 0.0 for p in "abc")
        assert first - started < 1.0, f"joiner decoded after {first - started:.2f}s"
        # the old members receive the joiner too
        await wait_until(
            lambda: all(h.clients[p].frames_from("late", "video") >= 5 for p in "abc"),
            5,
            "members receive the joiner",
        )
        # the renegotiation did not disturb the streams already flowing
        await wait_until(
            lambda: h.clients["a"].frames_from("b", "video") > a_from_b + 20,
            5,
            "a keeps receiving b across the renegotiation",
        )
        assert all(not c.errors for c in h.clients.values())


async def test_active_speaker_is_announced(clips: Clips) -> None:
    async with Harness(clips) as h:
        await h.join("talker")
        await h.join("listener", audio=False, video=False)
        await h.wait_connected()
        listener = h.clients["listener"]
        await wait_until(lambda: "talker" in listener.speakers, 5, "media.speaker for the talker")
        assert h.engine.stats(ROOM).active_speaker == "talker"
