"""Sender reports (server/media/reports.py): one compound RTCP per connection and interval.

Real aiortc clients on loopback: every receiving slot still gets its publisher's SR (aiortc's
receiver records it as remote-outbound-rtp stats), and the server's connection sends one
compound per interval instead of one report per slot. Each report keeps its LSR for the round
trip, as aiortc's own loop does (the unit test at the end).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiortc import clock
from aiortc.rtp import RtcpPacket, RtcpSdesPacket, RtcpSrPacket

from server.media import sendpath
from server.media.reports import SENDERS_PER_COMPOUND, ReportClock
from tests.media.harness import ROOM, Clips, Harness, wait_until

PIDS = ["p00", "p01", "p02"]


async def _three_joined(h: Harness) -> Any:
    """The room, once three publishing clients have joined and connected."""
    for i, pid in enumerate(PIDS):
        await h.join(pid, start_index=i)
    await h.wait_connected(45)
    return h.engine._rooms[ROOM]


def test_ntp_now_is_aiortcs_ntp_time() -> None:
    ours, theirs = sendpath.ntp_now(), clock.current_ntp_time()
    assert abs(ours - theirs) / 2**32 < 0.05  # seconds apart, in 64-bit NTP units


async def test_every_slot_gets_its_report_in_one_compound_per_connection(clips: Clips) -> None:
    async with Harness(clips) as h:
        pids = PIDS
        room = await _three_joined(h)
        sent: dict[str, list[list[Any]]] = {pid: [] for pid in pids}
        for pid in pids:
            reports = room.participants[pid].reports
            original = reports.send

            async def spy(group: list[Any], _pid: str = pid, _orig: Any = original) -> None:
                sent[_pid].append(list(group))
                await _orig(group)

            reports.send = spy

        async def reported(client: Any) -> bool:
            for t in client.pc.getTransceivers():
                if t.receiver.track is None or t.currentDirection not in ("recvonly", "sendrecv"):
                    continue
                stats = await t.receiver.getStats()
                if not any(s.type == "remote-outbound-rtp" for s in stats.values()):
                    return False
            return True

        deadline = time.monotonic() + 20
        while not all([await reported(h.clients[pid]) for pid in pids]):  # polled, like wait_until
            assert time.monotonic() < deadline, "a receiving slot got no sender report"
            await asyncio.sleep(0.2)
        await wait_until(
            lambda: all(len(sent[pid]) >= 3 for pid in pids), 20, "three compounds each"
        )
        for pid in pids:
            participant = room.participants[pid]
            # both slots (audio and video) of both other publishers, in every compound
            senders = {d.sender for u in participant.slots.values() for d in u.downs.values()}
            assert len(senders) == 4
            for group in sent[pid]:
                assert set(group) == senders
            assert participant.reports.compounds >= 3


class _Sender:
    """What ``ReportClock.send`` reads of a sender, recorded."""

    def __init__(self, ssrc: int) -> None:
        self._ssrc = ssrc
        self.__dict__.update(
            {
                "_RTCRtpSender__ntp_timestamp": 1 << 40,
                "_RTCRtpSender__rtp_timestamp": ssrc * 10,
                "_RTCRtpSender__packet_count": 5,
                "_RTCRtpSender__octet_count": 500,
                "_RTCRtpSender__cname": "cname",
            }
        )
        self.sent: list[bytes] = []

    async def _send_rtcp(self, packets: list[Any]) -> None:
        self.sent.append(b"".join(bytes(p) for p in packets))


async def test_a_compound_holds_an_sr_per_sender_then_one_sdes() -> None:
    senders = [_Sender(100 + i) for i in range(SENDERS_PER_COMPOUND)]
    await ReportClock().send(senders)  # type: ignore[arg-type]
    (data,) = senders[0].sent
    assert len(data) <= 1100  # under the path MTU with SRTCP's trailer
    packets = RtcpPacket.parse(data)
    srs = [p for p in packets if isinstance(p, RtcpSrPacket)]
    sdes = [p for p in packets if isinstance(p, RtcpSdesPacket)]
    assert [p.ssrc for p in srs] == [s._ssrc for s in senders]
    assert [p.sender_info.rtp_timestamp for p in srs] == [s._ssrc * 10 for s in senders]
    assert len(sdes) == 1 and [c.ssrc for c in sdes[0].chunks] == [s._ssrc for s in senders]
    for s in senders:  # the LSR kept for the round trip, as aiortc's own loop keeps it
        assert s.__dict__["_RTCRtpSender__lsr"] == ((1 << 40) >> 16) & 0xFFFFFFFF


async def test_failing_reports_are_logged_once_and_counted(monkeypatch: Any, caplog: Any) -> None:
    """A compound that cannot be built keeps failing each interval: logged once per
    connection, then only counted; the clock goes on."""

    monkeypatch.setattr("server.media.reports.random.random", lambda: 0.0)  # every 0.5 s
    clock = ReportClock()

    async def broken(group: list[Any]) -> None:
        raise ValueError("bad report")

    clock.send = broken  # type: ignore[method-assign]
    clock._join(_Sender(9))  # type: ignore[arg-type]
    with caplog.at_level("ERROR", logger="server.media.reports"):
        deadline = time.monotonic() + 5
        while clock.failures < 3:
            assert time.monotonic() < deadline, "the clock stopped"
            await asyncio.sleep(0.1)
    clock._leave(clock.senders[0])
    assert [r.message for r in caplog.records].count(
        "sender reports failed (later failures only counted)"
    ) == 1


async def test_counting_bots_report_so_the_unit_measures_their_round_trip(clips: Clips) -> None:
    """The bots count what they receive without aiortc's receive work, but keep its receive
    statistics (``clientside.report_statistics``): their receiver reports carry a block per
    stream, so the unit hears their loss and measures their round trip, as with a browser."""
    async with Harness(clips) as h:
        pids = PIDS
        room = await _three_joined(h)
        links = [room.participants[pid].link for pid in pids]
        await wait_until(
            lambda: all(link.estimate.rtt_s > 0 and link.estimate.reports >= 2 for link in links),
            20,
            "a round trip and two judged reports for every bot",
        )
        for link in links:
            assert link.estimate.rtt_s < 1.0  # loopback: well under a second
            assert link.estimate.last_loss == 0.0
