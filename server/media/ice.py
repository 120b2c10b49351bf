"""ICE configuration: STUN/TURN servers, TURN REST credentials, allowed networks.

Pure helpers, no I/O except :func:`local_host_addresses` (reads the interface list).

TURN credentials follow the TURN REST scheme that coturn implements with ``use-auth-secret``:
username ``"<expiry unix seconds>:<person id>"``, password
``base64(HMAC-SHA1(shared secret, username))``. The browser gets a fresh pair with every offer,
valid for ``turn_ttl_s``; the secret never leaves the server.

Allowed networks pin media to chosen addresses: local host candidates are only gathered on
addresses inside them, and remote candidates outside them (including every ``.local`` mDNS
name, so multicast mDNS can never start) are refused before they reach the ICE agent.
None configured (the default) means globally routable addresses only: the server announces
no loopback, private (RFC 1918), shared (100.64.0.0/10), link-local or IPv6 unique-local
address and accepts no remote candidate on one. ``host_addresses`` narrows the server's own
candidates further to the addresses named. Tests set the networks to ``127.0.0.0/8``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ifaddr
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from server.errors import ErrorCode, UserError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

EVERYWHERE: tuple[IpNetwork, ...] = (
    ipaddress.IPv4Network("0.0.0.0/0"),
    ipaddress.IPv6Network("::/0"),
)
LOOPBACK: tuple[IpNetwork, ...] = (ipaddress.IPv4Network("127.0.0.0/8"),)
# No networks configured: globally routable unicast addresses only (see the module doc).
PUBLIC_ONLY: tuple[IpNetwork, ...] = ()
# TURN credentials outlive no session: the longest a protocol allows (dynamic therapy, 90
# planned minutes, 125 with every phase at its maximum) plus the lobby, rounded up.
TURN_TTL_S = 9000

_CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})
_CANDIDATE_PROTOCOLS = frozenset({"udp", "tcp"})


@dataclass(frozen=True, slots=True)
class IceSettings:
    """ICE configuration for the server's peer connections and for the browsers.

    ``stun_urls`` e.g. ``("stun:turn.example.org:3478",)``; ``turn_urls`` e.g.
    ``("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp")``.
    Hospital networks often block UDP: offer TURN over TLS on port 443 (docs/media.md).
    """

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl_s: int = TURN_TTL_S
    relay_only: bool = False
    allowed_networks: tuple[IpNetwork, ...] = PUBLIC_ONLY
    # The server's own host candidates: only these addresses (when set; each must be an
    # address of one of its interfaces and inside ``allowed_networks``).
    host_addresses: tuple[str, ...] = ()
    # Also use the servers (with server-minted credentials) for the server's own connections.
    server_uses_turn: bool = False

    @staticmethod
    def loopback(**kwargs: Any) -> IceSettings:
        """Settings for tests: no servers, every candidate on 127.0.0.0/8."""
        return IceSettings(allowed_networks=LOOPBACK, **kwargs)


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
            out["credential"] = self.credential
        return out


@dataclass(frozen=True, slots=True)
class ParsedCandidate:
    foundation: str
    component: int
    protocol: str
    priority: int
    host: str
    port: int
    type: str
    extra: tuple[str, ...] = field(default=())


def turn_rest_credentials(secret: str, person_id: str, ttl_s: int, now_s: float) -> IceServer:
    """Mint time-limited TURN credentials (coturn ``use-auth-secret``), without URLs."""
    if ":" in person_id:
        raise UserError("person id must not contain ':'", code=ErrorCode.INVALID)
    username = f"{int(now_s) + ttl_s}:{person_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return IceServer(urls=(), username=username, credential=base64.b64encode(digest).decode())


MIN_TURN_TTL_S = 600  # a room running over its window still gets credentials for a while


def credential_ttl(max_ttl_s: int, until_s: float | None, now_s: float) -> int:
    """How long TURN credentials minted now may last: until ``until_s`` (the end of the
    session's join window), never longer than ``max_ttl_s`` (``turn_ttl_s``), and at least
    MIN_TURN_TTL_S so a session that runs over keeps working (every new offer mints afresh)."""
    if until_s is None:
        return max_ttl_s
    return int(max(MIN_TURN_TTL_S, min(max_ttl_s, until_s - now_s)))


def ice_servers_for(
    settings: IceSettings, person_id: str, now_s: float, ttl_s: int | None = None
) -> list[IceServer]:
    """The STUN/TURN servers one person may use, with freshly minted TURN credentials valid
    for ``ttl_s`` (default ``turn_ttl_s``)."""
    servers: list[IceServer] = []
    if settings.stun_urls:
        servers.append(IceServer(urls=settings.stun_urls))
    if settings.turn_urls:
        if settings.turn_secret is None:
            raise ValueError("turn_urls configured without turn_secret")
        ttl = settings.turn_ttl_s if ttl_s is None else ttl_s
        creds = turn_rest_credentials(settings.turn_secret, person_id, ttl, now_s)
        servers.append(IceServer(settings.turn_urls, creds.username, creds.credential))
    return servers


def client_ice_config(
    settings: IceSettings, person_id: str, now_s: float, ttl_s: int | None = None
) -> dict[str, Any]:
    """The ``RTCConfiguration`` a browser should use (sent with ``media.offer``)."""
    return {
        "iceServers": [s.to_wire() for s in ice_servers_for(settings, person_id, now_s, ttl_s)],
        "iceTransportPolicy": "relay" if settings.relay_only else "all",
        "bundlePolicy": "max-bundle",
    }


def rtc_configuration(servers: Sequence[IceServer], *, relay_only: bool) -> RTCConfiguration:
    """An aiortc configuration. An empty list really means no servers (never the default
    public STUN server), and every m-line shares one transport (max-bundle)."""
    ice_servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in servers
    ]
    return RTCConfiguration(
        iceServers=ice_servers,
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


def is_allowed_address(host: str, networks: Sequence[IpNetwork]) -> bool:
    """True if ``host`` is an IP literal inside one of ``networks`` (with none given: a
    globally routable unicast address); names are never allowed."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if not networks:
        return addr.is_global and not addr.is_multicast
    return any(addr.version == net.version and addr in net for net in networks)


def parse_candidate(line: str) -> ParsedCandidate:
    """Parse ``candidate:...`` (with or without the ``a=`` / ``candidate:`` prefix)."""
    text = line.strip()
    if text.startswith("a="):
        text = text[2:]
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    bits = text.split()
    if len(bits) < 8 or bits[6] != "typ" or len(bits) % 2 != 0:
        raise UserError("malformed ICE candidate", code=ErrorCode.INVALID)
    try:
        component = int(bits[1])
        priority = int(bits[3])
        port = int(bits[5])
    except ValueError as exc:
        raise UserError("malformed ICE candidate", code=ErrorCode.INVALID) from exc
    protocol = bits[2].lower()
    if protocol not in _CANDIDATE_PROTOCOLS or bits[7] not in _CANDIDATE_TYPES:
        raise UserError("unsupported ICE candidate", code=ErrorCode.INVALID)
    if not (1 <= component <= 256 and 0 <= port <= 65535 and 0 <= priority < 2**32):
        raise UserError("malformed ICE candidate", code=ErrorCode.INVALID)
    return ParsedCandidate(
        foundation=bits[0],
        component=component,
        protocol=protocol,
        priority=priority,
        host=bits[4],
        port=port,
        type=bits[7],
        extra=tuple(bits[8:]),
    )


def filter_sdp_candidates(sdp: str, networks: Sequence[IpNetwork]) -> tuple[str, int]:
    """Drop every ``a=candidate`` line whose address is outside ``networks`` or malformed.

    Returns the new SDP and the number of candidates dropped.
    """
    kept: list[str] = []
    dropped = 0
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            try:
                cand = parse_candidate(line)
            except UserError:
                dropped += 1
                continue
            if not is_allowed_address(cand.host, networks):
                dropped += 1
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n", dropped


def local_host_addresses(networks: Sequence[IpNetwork], only: Sequence[str] = ()) -> list[str]:
    """Host addresses to gather candidates on: every interface address (loopback included,
    unlike aioice's own discovery) that is allowed by ``networks`` (and is one of ``only``,
    when given); IPv6 link-local excluded."""
    wanted = {ipaddress.ip_address(a) for a in only}
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                host = ip.ip
            else:
                if ip.ip[2] != 0:  # scope id set: link-local
                    continue
                host = ip.ip[0]
            if wanted and ipaddress.ip_address(host) not in wanted:
                continue
            if is_allowed_address(host, networks) and host not in found:
                found.append(host)
    return found
