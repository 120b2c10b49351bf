"""Pure helpers of the media engine (no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress

import pytest

from server.errors import UserError
from server.media.forwarding import is_vp8_keyframe_start
from server.media.ice import (
    LOOPBACK,
    IceSettings,
    client_ice_config,
    filter_sdp_candidates,
    is_allowed_address,
    parse_candidate,
    turn_rest_credentials,
)
from server.media.speaker import SpeakerDetector


def test_turn_rest_credentials_match_coturn_scheme() -> None:
    creds = turn_rest_credentials("s3cret", "42", ttl_s=3600, now_s=1_700_000_000.5)
    assert creds.username == "1700003600:42"
    expected = base64.b64encode(
        hmac.new(b"s3cret", b"1700003600:42", hashlib.sha1).digest()
    ).decode()
    assert creds.credential == expected


def test_client_config_mints_turn_credentials() -> None:
    settings = IceSettings(
        turn_urls=("turns:turn.example.org:443?transport=tcp",),
        turn_secret="x",
        relay_only=True,
    )
    cfg = client_ice_config(settings, "7", now_s=100)
    assert cfg["iceTransportPolicy"] == "relay"
    (server,) = cfg["iceServers"]
    assert server["urls"] == ["turns:turn.example.org:443?transport=tcp"]
    assert server["username"].endswith(":7")


@pytest.mark.parametrize(
    ("host", "ok"),
    [("127.0.0.1", True), ("127.5.5.5", True), ("10.0.0.1", False), ("x.local", False),
     ("::1", False)],
)  # fmt: skip
def test_allowed_addresses(host: str, ok: bool) -> None:
    assert is_allowed_address(host, LOOPBACK) is ok


def test_sdp_candidate_filter() -> None:
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n"
        "a=candidate:2 1 udp 1 abc.local 5000 typ host\r\n"
        "a=candidate:3 1 udp 1 192.168.1.2 5000 typ srflx raddr 0.0.0.0 rport 0\r\n"
        "a=candidate:broken\r\n"
    )
    out, dropped = filter_sdp_candidates(sdp, LOOPBACK)
    assert dropped == 3
    assert "127.0.0.1" in out and ".local" not in out and "192.168" not in out


def test_parse_candidate() -> None:
    c = parse_candidate("a=candidate:1 1 UDP 2122260223 127.0.0.1 5000 typ host")
    assert (c.protocol, c.host, c.port, c.type) == ("udp", "127.0.0.1", 5000, "host")
    with pytest.raises(UserError):
        parse_candidate("candidate:1 1 udp 1 127.0.0.1 5000 host")


def test_ipv6_network_allow_list() -> None:
    nets = (ipaddress.IPv6Network("::1/128"),)
    assert is_allowed_address("::1", nets) and not is_allowed_address("127.0.0.1", nets)


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x10, 0x00]), True),  # S=1, PID=0, P=0
        (bytes([0x10, 0x01]), False),  # inter frame
        (bytes([0x00, 0x00]), False),  # not a partition start
        (bytes([0x90, 0x80, 0x81, 0x23, 0x00]), True),  # X, I with 15-bit picture id
        (bytes([0x90, 0x80, 0x05, 0x01]), False),
        (bytes([0x90, 0xE0, 0x05, 0x07, 0x00, 0x00]), True),  # I, L, T
        (b"", False),
    ],
)
def test_vp8_keyframe_detection(payload: bytes, key: bool) -> None:
    assert is_vp8_keyframe_start(payload) is key


def test_speaker_detector_picks_loudest_with_hysteresis() -> None:
    d = SpeakerDetector(threshold=10, switch_ratio=1.3)
    for _ in range(10):
        d.observe("a", 30)  # loud
        d.observe("b", 50)  # quieter
    assert d.tick() == (True, "a")
    for _ in range(10):
        d.observe("a", 30)
        d.observe("b", 28)  # slightly louder: not enough to switch
    assert d.tick() == (False, "a")
    for _ in range(10):
        d.observe("b", 20)
        d.observe("a", 127)  # a went silent
    assert d.tick() == (True, "b")
    assert d.tick() == (True, None)  # nobody speaks
    d.observe("c", 20)
    d.forget("c")
    assert d.tick() == (False, None)
