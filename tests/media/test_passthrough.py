"""Fails loudly when aiortc/aioice move a private name the SFU depends on."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCPeerConnection

from server.media import passthrough, sendpath
from server.media.ice import rtc_configuration


def test_private_hooks_are_where_we_expect_them() -> None:
    passthrough.check_hooks()  # raises HookMissing naming the moved hook


async def test_hooks_install_on_real_objects() -> None:
    pc = RTCPeerConnection(rtc_configuration([], relay_only=False))
    try:
        t = pc.addTransceiver("audio", direction="recvonly")
        sink = passthrough.tap_receiver(t.receiver, None)
        assert passthrough.decoder_queue(t.receiver) is sink
        sink.put(("codec", b"frame"))
        assert sink.frames == 1 and sink.empty()
        called: list[bool] = []
        passthrough.on_keyframe_request(t.sender, lambda: called.append(True))
        t.sender._send_keyframe()
        assert called == [True]
        sendpath.count_sent(t.sender, 2, 100, 1234, 5678)
        passthrough.gather_on(pc, ["127.0.0.1"])
        # Any: aioice's Connection carries the attribute passthrough sets on it.
        conn: Any = t.receiver.transport.transport.iceGatherer._connection
        assert conn._hc_gather_on == ["127.0.0.1"]
    finally:
        await pc.close()


def test_pins_are_exact() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"aiortc=={passthrough.AIORTC_VERSION}"' in text
    assert f'"aioice=={passthrough.AIOICE_VERSION}"' in text


@pytest.mark.parametrize("name", ["_RTCRtpReceiver__decoder_queue"])
def test_decoder_queue_name(name: str) -> None:
    assert name == passthrough._DECODER_QUEUE


async def test_datagrams_from_refused_sources_are_dropped() -> None:
    pc = RTCPeerConnection(rtc_configuration([], relay_only=False))
    try:
        pc.addTransceiver("audio", direction="recvonly")
        passthrough.gather_on(pc, ["127.0.0.1"])
        await pc.setLocalDescription(await pc.createOffer())
        # Any: the test replaces a method on aioice's private protocol object.
        conn: Any = pc.getTransceivers()[0].receiver.transport.transport.iceGatherer._connection
        (protocol,) = conn._protocols
        seen: list[tuple[bytes, tuple[str, int]]] = []
        protocol.datagram_received = lambda data, addr: seen.append((data, addr))
        passthrough.drop_datagrams_from(pc, lambda host: host.startswith("127."))
        protocol.datagram_received(b"x", ("10.1.2.3", 5000))
        protocol.datagram_received(b"y", ("127.0.0.1", 5000))
        assert seen == [(b"y", ("127.0.0.1", 5000))]
    finally:
        await pc.close()


@pytest.mark.parametrize("size", [20, 1200, 1340])
def test_fast_protect_matches_pylibsrtp(size: int) -> None:
    import os
    import struct

    from pylibsrtp import Policy, Session

    key = os.urandom(28)

    def session() -> Session:
        policy = Policy(
            key=key,
            ssrc_type=Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
        )
        return Session(policy=policy)

    reference, fast = session(), sendpath.fast_protect(session())
    for seq in range(5):
        packet = struct.pack("!BBHII", 0x80, 97, seq, seq * 3000, 7) + bytes(size)
        assert fast(packet) == reference.protect(packet)
    assert fast(bytes(1500)) is None  # too long for the buffer: refused, not overflowed
