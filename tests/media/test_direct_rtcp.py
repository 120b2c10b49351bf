"""SRTCP in the receive shortcut (server/media/direct.py): receiver reports are read in the
socket's ``datagram_received`` and reach their sender's feedback hooks; every other compound
goes to aiortc's RTCP handling; a replayed or forged SRTCP packet is dropped."""

from __future__ import annotations

import os
import struct
from typing import Any

import pylibsrtp
import pytest
from aiortc.rtp import (
    RtcpPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from server.media import direct, passthrough
from server.media.sendpath import fast_unprotect_rtcp
from tests.media.harness import ROOM, Clips, Harness, wait_until


def _rr(*blocks: tuple[int, int, int, int]) -> RtcpRrPacket:
    """An RR from SSRC 9 with blocks (ssrc, fraction lost, lsr, dlsr)."""
    return RtcpRrPacket(
        ssrc=9,
        reports=[
            RtcpReceiverInfo(
                ssrc=s, fraction_lost=f, packets_lost=0, highest_sequence=1, jitter=0,
                lsr=lsr, dlsr=dlsr,
            )
            for s, f, lsr, dlsr in blocks
        ],
    )  # fmt: skip


def _sdes() -> RtcpSdesPacket:
    return RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=9, items=[(1, b"bot")])])


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int, int, int]]:
    calls: list[tuple[Any, int, int, int]] = []
    monkeypatch.setattr(passthrough, "report_block", lambda *a: calls.append(a))
    return calls


def test_a_compound_of_reports_goes_to_each_blocks_sender(heard: list[Any]) -> None:
    a, b = object(), object()
    data = bytes(_rr((100, 64, 7, 8), (555, 1, 0, 0))) + bytes(_sdes()) + bytes(_rr((200, 0, 3, 4)))
    assert direct.receiver_reports(data, {100: a, 200: b})
    assert heard == [(a, 64, 7, 8), (b, 0, 3, 4)]  # SSRC 555 is no sender of ours: skipped


@pytest.mark.parametrize(
    "data",
    [
        bytes(_rr((100, 1, 0, 0)))
        + bytes(RtcpRtpfbPacket(fmt=1, ssrc=9, media_ssrc=100, lost=[5])),
        bytes(
            RtcpSrPacket(
                ssrc=9,
                sender_info=RtcpSenderInfo(
                    ntp_timestamp=1, rtp_timestamp=2, packet_count=3, octet_count=4
                ),
                reports=[],
            )
        ),
        bytes(_rr((100, 1, 0, 0)))[:-4],  # a block cut short
        bytes([0x81, 201, 0, 7]) + bytes(24),  # a length past the end (32 bytes said, 28 here)
        bytes([0xA1]) + bytes(_rr((100, 1, 0, 0)))[1:],  # padded
        b"\x81",
    ],
    ids=["with-nack", "sender-report", "short-block", "long-length", "padded", "truncated"],
)
def test_anything_else_is_left_to_aiortc_untouched(heard: list[Any], data: bytes) -> None:
    assert not direct.receiver_reports(data, {100: object()})
    assert heard == []


def test_srtcp_is_authenticated_and_a_replay_dropped() -> None:
    key = os.urandom(30)
    policy = pylibsrtp.Policy(
        key=key,
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    tx = pylibsrtp.Session(policy)
    policy.ssrc_type = pylibsrtp.Policy.SSRC_ANY_INBOUND
    rx = pylibsrtp.Session(policy)
    unprotect = fast_unprotect_rtcp(rx)
    plain = bytes(_rr((100, 1, 0, 0)))
    protected = tx.protect_rtcp(plain)
    assert unprotect(protected) == plain
    assert unprotect(protected) is None  # replayed
    forged = protected[:8] + bytes([protected[8] ^ 1]) + protected[9:]
    assert unprotect(forged) is None
    assert RtcpPacket.parse(plain)[0].reports[0].ssrc == 100  # type: ignore[union-attr]


async def test_bots_reports_take_the_shortcut_and_other_rtcp_still_reaches_aiortc(
    clips: Clips, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real room the bots' receiver reports are read in the shortcut (the unit measures
    their round trip), and the publishers' sender reports still reach aiortc's receivers
    (which answer them with the LSR the publishers' round trip needs)."""
    shortcut: list[bool] = []
    original = direct.receiver_reports

    def spy(data: bytes, senders: dict[int, Any]) -> bool:
        shortcut.append(original(data, senders))
        return shortcut[-1]

    monkeypatch.setattr(direct, "receiver_reports", spy)
    async with Harness(clips) as h:
        pids = ["p00", "p01", "p02"]
        for i, pid in enumerate(pids):
            await h.join(pid, start_index=i)
        await h.wait_connected(45)
        room = h.engine._rooms[ROOM]
        links = [room.participants[pid].link for pid in pids]
        await wait_until(
            lambda: all(link.estimate.rtt_s > 0 for link in links) and False in shortcut,
            20,
            "round trips from the shortcut, and a compound left to aiortc",
        )
        assert shortcut.count(True) >= len(pids)

        async def remote_outbound(pid: str) -> bool:  # the SR reached aiortc's receivers
            for t in room.participants[pid].pc.getTransceivers():
                stats = await t.receiver.getStats()
                if any(s.type == "remote-outbound-rtp" for s in stats.values()):
                    return True
            return False

        assert all([await remote_outbound(pid) for pid in pids])


def test_the_rr_layout_read_is_rfc_3550s() -> None:
    data = bytes(_rr((0x01020304, 0x55, 0x0A0B0C0D, 0x11223344)))
    assert data[1] == 201 and data[0] & 0x1F == 1
    ssrc, lost, lsr, dlsr = struct.unpack_from("!I B 11x I I", data, 8)
    assert (ssrc, lost, lsr, dlsr) == (0x01020304, 0x55, 0x0A0B0C0D, 0x11223344)
