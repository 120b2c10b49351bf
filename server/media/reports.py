"""Sender reports: one compound RTCP packet per peer connection and interval.

aiortc runs a task per ``RTCRtpSender`` that sends the sender's own SR and SDES every 0.5-1.5
s. A subscriber's connection in a twelve-person room has 22 slots, so that is 22 reports, each
built, SRTCP-protected and sent on aiortc's slow path, per connection and second: about 6 % of
the unit's CPU in bench/media.py. RFC 3550 (6.1) lets one compound packet carry the reports of
every SSRC a participant sends (browsers read every report in a compound), so a
:class:`ReportClock` per connection takes its senders' RTCP over
(``sendpath.share_rtcp_loop``): a sender joins when aiortc starts it and leaves when it
stops (still sending its own BYE), and one task sends, every 0.5-1.5 s (RFC 3550's
randomisation), one compound: an SR per started sender, then one SDES with every sender's
CNAME; more than :data:`SENDERS_PER_COMPOUND` senders are split over several compounds, to
stay under the path MTU.
"""

from __future__ import annotations

import asyncio
import logging
import random

from aiortc import RTCRtpSender
from aiortc.rtp import AnyRtcpPacket, RtcpSdesPacket, RtcpSourceInfo

from server.media import sendpath

logger = logging.getLogger(__name__)
SENDERS_PER_COMPOUND = 16  # 16 x (28-byte SR + a 24-byte SDES chunk): about 830 bytes


class ReportClock:
    """The sender reports of one peer connection's senders (see the module docstring)."""

    def __init__(self) -> None:
        self.senders: list[RTCRtpSender] = []
        self.compounds = 0  # compound packets sent
        self.failures = 0  # compounds that could not be built or sent
        self._task: asyncio.Task[None] | None = None

    def adopt(self, sender: RTCRtpSender) -> None:
        """Take over ``sender``'s reports (call before aiortc starts it)."""
        sendpath.share_rtcp_loop(sender, self._join, self._leave)

    def _join(self, sender: RTCRtpSender) -> None:
        self.senders.append(sender)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _leave(self, sender: RTCRtpSender) -> None:
        if sender in self.senders:
            self.senders.remove(sender)
        if not self.senders and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.5 + random.random())
            senders = list(self.senders)
            for start in range(0, len(senders), SENDERS_PER_COMPOUND):
                group = senders[start : start + SENDERS_PER_COMPOUND]
                try:
                    await self.send(group)
                except Exception:  # one bad report must not end the connection's reports
                    self.failures += 1
                    if self.failures == 1:  # once per connection: no log flood each second
                        logger.exception("sender reports failed (later failures only counted)")

    async def send(self, group: list[RTCRtpSender]) -> None:
        packets: list[AnyRtcpPacket] = []
        chunks: list[RtcpSourceInfo] = []
        for sender in group:
            report, chunk = sendpath.sender_report(sender)
            packets.append(report)
            if chunk is not None:
                chunks.append(chunk)
        if chunks:
            packets.append(RtcpSdesPacket(chunks=chunks))
        if packets:
            await group[0]._send_rtcp(packets)  # one DTLS transport (BUNDLE): any sender's
            self.compounds += 1
