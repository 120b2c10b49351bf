"""Media exposure: by default the server announces no loopback, private or link-local address
and accepts no remote candidate on one; tests allow loopback explicitly. The coturn example
denies metadata and internal ranges and TCP relays; TURN credentials outlive no session."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest

from server.media.ice import IceSettings, client_ice_config, credential_ttl, is_allowed_address
from server.media.port import IceCandidate
from server.media.sfu import AiortcMediaEngine, SfuSettings
from server.media.wiring import ice_settings
from server.settings import Settings

ROOM = "r"
ROOT = Path(__file__).resolve().parents[2]
INTERNAL = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "169.254.169.254",  # cloud metadata
    "0.0.0.1",
    "::1",
    "fd00::1",  # IPv6 unique-local
    "fe80::1",  # IPv6 link-local
    "224.0.0.251",  # multicast (mDNS)
]


class Outbox:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, event: str, payload: dict[str, Any]) -> None:
        self.events.append((event, payload))


def test_default_settings_allow_only_public_addresses() -> None:
    ice = ice_settings(Settings(secret_key="x" * 32))
    assert ice.allowed_networks == () and ice.host_addresses == ()
    for host in INTERNAL:
        assert not is_allowed_address(host, ice.allowed_networks), host
    for host in ("8.8.8.8", "2001:4860:4860::8888"):
        assert is_allowed_address(host, ice.allowed_networks), host
    # configured networks are what is allowed (the tests' loopback, a hospital LAN)
    lan = ice_settings(
        Settings(secret_key="x" * 32, media_allowed_networks=["127.0.0.0/8", "10.0.0.0/8"])
    )
    assert is_allowed_address("127.0.0.1", lan.allowed_networks)
    assert is_allowed_address("10.1.2.3", lan.allowed_networks)
    assert not is_allowed_address("192.168.1.20", lan.allowed_networks)


def test_turn_credentials_outlive_no_session() -> None:
    settings = Settings(secret_key="x" * 32, turn_uris=["turn:t.example:3478"], turn_secret="s")
    ice = ice_settings(settings)
    now = 1_800_000_000
    server = client_ice_config(ice, "7", now)["iceServers"][0]
    expiry = int(server["username"].split(":")[0])
    # the longest session (dynamic therapy, 125 min at every phase's maximum) fits ...
    assert now + 125 * 60 <= expiry
    # ... and no credential lives longer than four hours, whatever is configured
    assert expiry - now <= 4 * 3600
    with pytest.raises(ValueError, match="turn_ttl_s"):
        Settings(secret_key="x" * 32, turn_ttl_s=86400)


def _coturn_example() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text()
    m = re.search(r"```\n# /etc/turnserver.conf\n(.*?)```", text, re.S)
    assert m, "the coturn example in docs/deployment.md"
    return m.group(1)


def _denied(conf: str) -> list[tuple[Any, Any]]:
    ranges = []
    for line in conf.splitlines():
        if line.startswith("denied-peer-ip="):
            lo, _, hi = line.split("=", 1)[1].strip().partition("-")
            ranges.append((ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)))
    return ranges


def test_coturn_example_denies_internal_ranges_and_tcp_relay() -> None:
    conf = _coturn_example()
    options = {ln.split("=", 1)[0].strip() for ln in conf.splitlines() if ln.strip()}
    assert {"no-tcp-relay", "no-multicast-peers", "use-auth-secret"} <= options
    assert "allow-loopback-peers" not in options
    denied = _denied(conf)
    for host in [*INTERNAL, "100.127.255.255", "169.254.0.1", "fdff::1", "febf::1"]:
        addr = ipaddress.ip_address(host)
        assert any(lo.version == addr.version and lo <= addr <= hi for lo, hi in denied), (
            f"{host} is not denied by the coturn example"
        )
    # and a public address is still relayed
    public = ipaddress.ip_address("8.8.8.8")
    assert not any(lo.version == 4 and lo <= public <= hi for lo, hi in denied)


@pytest.mark.media
async def test_default_engine_announces_no_internal_address_and_accepts_none() -> None:
    engine = AiortcMediaEngine(SfuSettings(ice=IceSettings()))
    await engine.start()
    try:
        await engine.open_room(ROOM)
        out = Outbox()
        await engine.add_participant(ROOM, "p", out)
        sdp = out.events[-1][1]["sdp"]
        # inside the test's namespace only loopback exists: nothing may be offered
        assert [ln for ln in sdp.splitlines() if ln.startswith("a=candidate:")] == []
        p = engine._rooms[ROOM].participants["p"]
        for n, host in enumerate(INTERNAL):
            await engine.handle_candidate(
                ROOM,
                "p",
                IceCandidate(f"candidate:{n} 1 udp 2122260223 {host} 5000 typ host", "0", 0),
            )
        assert p.refused_candidates == len(INTERNAL)
        remote = p.pc.getTransceivers()[0].receiver.transport.transport.getRemoteCandidates()
        assert remote == []
    finally:
        await engine.stop()


@pytest.mark.media
async def test_configured_loopback_is_announced_and_accepted() -> None:
    engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback()))
    await engine.start()
    try:
        await engine.open_room(ROOM)
        out = Outbox()
        await engine.add_participant(ROOM, "p", out)
        lines = [ln for ln in out.events[-1][1]["sdp"].splitlines() if "a=candidate:" in ln]
        assert lines and all(" 127.0.0.1 " in ln for ln in lines)
        await engine.handle_candidate(
            ROOM, "p", IceCandidate("candidate:1 1 udp 2122260223 10.1.2.3 5000 typ host", "0", 0)
        )
        assert engine._rooms[ROOM].participants["p"].refused_candidates == 1
    finally:
        await engine.stop()


def test_turn_credentials_end_with_the_sessions_join_window() -> None:
    settings = Settings(secret_key="x" * 32, turn_uris=["turn:t.example:3478"], turn_secret="s")
    ice = ice_settings(settings)
    now = 1_800_000_000
    until = now + 90 * 60  # a 60-minute session joined at its start: end + 30 min late join

    def expiry(ttl: int) -> int:
        server = client_ice_config(ice, "7", now, ttl)["iceServers"][0]
        return int(server["username"].split(":")[0])

    assert expiry(credential_ttl(ice.turn_ttl_s, until, now)) == until
    # a room that runs over its window still gets ten minutes at each new offer ...
    assert expiry(credential_ttl(ice.turn_ttl_s, now - 60, now)) == now + 600
    # ... never more than turn_ttl_s, and turn_ttl_s where no window is known
    assert credential_ttl(ice.turn_ttl_s, now + 10 * 3600, now) == ice.turn_ttl_s
    assert credential_ttl(ice.turn_ttl_s, None, now) == ice.turn_ttl_s
