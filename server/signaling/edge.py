"""The Engine.IO/Socket.IO edge: every frame is screened before anything decodes it.

python-socketio decodes whatever arrives (any size up to the transport's limit, any nesting
depth) and answers nothing it cannot decode; each failure is an ERROR traceback. Here:

* the websocket is the only transport (one guarded path, no long-polling bodies);
* an Engine.IO frame that is not one a client sends (empty, unknown type, a JSON payload on a
  control frame) closes the websocket with 1008 and a reason;
* a Socket.IO packet is checked for size (:data:`PACKET_MAX_CHARS`, below the transport's
  :data:`TRANSPORT_MAX_BYTES`), nesting depth (:data:`MAX_DEPTH`) and shape before and while
  it is decoded; a refused packet is charged to the connection's event budget and answered
  like any refused event (``too_large`` or ``invalid``) when it asked for an answer, and the
  websocket is closed with 1008 and the reason when it did not (a real client never sends
  such a packet);
* the log gets one warning per connection (the first refusal) and, at disconnect, the count.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

import engineio
import socketio
from engineio.async_drivers import aiohttp as aiohttp_driver
from socketio import packet as sio_packet

from server.errors import CircleError, PayloadTooLarge, UserError
from server.rooms.ports import JSON
from server.settings import Settings

from .context import NAMESPACE

log = logging.getLogger(__name__)

TRANSPORT_MAX_BYTES = 1024 * 1024  # a websocket message above this is closed with 1009
PACKET_MAX_CHARS = 128 * 1024  # above this a packet is answered too_large, never decoded
MAX_DEPTH = 8  # [event, {payload}] is 2 deep; no event needs more than 3
MAX_ATTACHMENTS = 10  # binary frames of a refused binary event dropped unread; more close

# What a client sends at the Engine.IO level: close, ping, pong, upgrade and noop (optionally
# with the "probe" word), or a message carrying a Socket.IO packet (which starts with its type).
_ENGINE_FRAME = re.compile(r"[12356][a-z]{0,8}|4[0-6]", re.DOTALL)
_HEADER = re.compile(r"([0-6])(?:(\d{1,10})-)?(?:(/[^,\[{\"]{0,64}),)?(\d{1,15})?")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


@dataclass(frozen=True, slots=True)
class Header:
    """What can be read of a Socket.IO packet without decoding its JSON."""

    type: int
    namespace: str
    id: int | None
    attachments: int = 0

    @property
    def answerable(self) -> bool:
        return (
            self.type in (sio_packet.EVENT, sio_packet.BINARY_EVENT)
            and self.namespace == NAMESPACE
            and self.id is not None
        )


@dataclass(frozen=True, slots=True)
class Screened:
    header: Header | None
    problem: CircleError | None = None
    packet: socketio.packet.Packet | None = None


def engine_frame_ok(frame: str | bytes) -> bool:
    """Is this a frame a client sends at the Engine.IO level? (Binary messages pass.)"""
    if isinstance(frame, bytes):
        return True
    if frame[:1] == "4":
        return _ENGINE_FRAME.fullmatch(frame[:2]) is not None
    return _ENGINE_FRAME.fullmatch(frame) is not None


def read_header(data: str) -> Header | None:
    m = _HEADER.match(data[:100])
    if m is None:
        return None
    namespace = (m.group(3) or "/").split("?", 1)[0]
    ack_id = int(m.group(4)) if m.group(4) else None
    return Header(int(m.group(1)), namespace, ack_id, int(m.group(2) or 0))


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Does the JSON in ``text`` nest arrays and objects deeper than ``limit``?
    (Brackets inside strings do not count; malformed JSON is left to the decoder.)"""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for ch in _BRACKETS.findall(_STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def screen(data: Any, packet_class: type[socketio.packet.Packet]) -> Screened:
    """Decide about one Socket.IO packet, decoding it only when it is small and shallow."""
    if not isinstance(data, str):
        return Screened(None, UserError("Binary frames are not accepted."))
    header = read_header(data)
    if header is None:
        return Screened(None, UserError("Not a Socket.IO packet."))
    if len(data) > PACKET_MAX_CHARS:
        return Screened(
            header,
            PayloadTooLarge(
                f"The packet is {len(data)} characters; no event takes more than "
                f"{PACKET_MAX_CHARS} (see docs/signaling.md)."
            ),
        )
    if header.type == sio_packet.BINARY_EVENT:
        return Screened(header, UserError("Binary payloads are not accepted: send JSON."))
    if header.type not in (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT):
        name = sio_packet.packet_names[header.type]
        return Screened(header, UserError(f"Clients do not send {name} packets here."))
    if too_deep(data):
        return Screened(header, UserError(f"The payload nests deeper than {MAX_DEPTH} levels."))
    try:
        pkt = packet_class(encoded_packet=data)
    except (ValueError, TypeError, RecursionError):
        return Screened(header, UserError("The payload is not valid JSON."))
    if pkt.packet_type == sio_packet.EVENT and not (
        isinstance(pkt.data, list) and pkt.data and isinstance(pkt.data[0], str)
    ):
        return Screened(header, UserError("An event is [name, payload]."))
    if (pkt.namespace or "/") != NAMESPACE:
        return Screened(header, UserError(f"The only namespace is {NAMESPACE}."))
    return Screened(header, None, pkt)


class PacketGuard(Protocol):
    async def refuse_packet(self, sid: str, exc: CircleError, *, first: bool) -> JSON | None:
        """Charge a refused packet to the connection's budget; the answer to send, or None
        when ``sid`` has no live connection."""


class _GuardedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    async def __call__(self, environ: Any) -> Any:
        # python-engineio hands us its socket's handler: remember the websocket by that
        # socket's id, so a refusal can close it with a reason (EdgeServer._refuse).
        sid = getattr(getattr(self.handler, "__self__", None), "sid", None)
        websockets: dict[str, _GuardedWebSocket] = self.server.websockets
        if sid is not None:
            websockets[sid] = self
        try:
            return await super().__call__(environ)
        finally:
            if sid is not None and websockets.get(sid) is self:
                del websockets[sid]

    async def wait(self) -> Any:
        data = await super().wait()
        if engine_frame_ok(data):
            return data
        shown = repr(data[:20])
        log.warning("websocket closed: malformed Engine.IO frame %s", shown)
        await self.close_with_reason("malformed Engine.IO frame")
        return None  # python-engineio ends the connection as if the client had closed it

    async def close_with_reason(self, reason: str, code: int = 1008) -> None:
        """Close with ``code`` (1008: policy violation) and ``reason`` (cut to the 123 bytes
        allowed)."""
        await self._sock.close(code=code, message=reason.encode()[:123])


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        driver: dict[str, Any] = dict(self.__dict__["_async"])  # (untyped in engineio)
        driver["websocket"] = _GuardedWebSocket
        self.__dict__["_async"] = driver
        self.websockets: dict[str, _GuardedWebSocket] = {}


class EdgeServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server with its packet decoding guarded (see the module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.packet_guard: PacketGuard | None = None
        self.refused: dict[str, int] = {}  # per Engine.IO connection
        self._attachments: dict[str, int] = {}  # binary frames still to drop, per connection

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes) and self._attachments.get(eio_sid):
            self._attachments[eio_sid] -= 1  # part of a binary event already refused
            return
        screened = screen(data, self.packet_class)
        pkt = screened.packet
        if (
            pkt is not None
            and pkt.packet_type == sio_packet.CONNECT
            and self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/") is not None
        ):
            screened = Screened(screened.header, UserError("Already connected."))
        if screened.problem is not None or pkt is None:
            await self._refuse(eio_sid, screened)
        elif pkt.packet_type == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        else:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)

    async def _refuse(self, eio_sid: str, screened: Screened) -> None:
        if eio_sid not in self.eio.sockets:
            return  # already closed: the rest of its frames are dropped
        problem = screened.problem or UserError("Not a Socket.IO packet.")
        count = self.refused.get(eio_sid, 0) + 1
        self.refused[eio_sid] = count
        if count == 1:
            log.warning(
                "connection %s: refused a packet (%s: %s); later refusals on it are counted",
                eio_sid,
                problem.code,
                problem.message,
            )
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        reply = None
        if sid is not None and self.packet_guard is not None:
            reply = await self.packet_guard.refuse_packet(sid, problem, first=count == 1)
        header = screened.header
        if reply is not None and header is not None and header.answerable:
            if header.type == sio_packet.BINARY_EVENT:
                self._attachments[eio_sid] = min(header.attachments, MAX_ATTACHMENTS)
            await self._send_packet(
                eio_sid,
                self.packet_class(sio_packet.ACK, namespace=NAMESPACE, id=header.id, data=[reply]),
            )
        else:
            # Nothing to answer (no id, no /room connection): a real client never sends this.
            ws = self.eio.websockets.get(eio_sid)
            if ws is not None:
                await ws.close_with_reason(f"{problem.code}: {problem.message}")
            else:
                await self.eio.disconnect(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        count = self.refused.pop(eio_sid, 0)
        self._attachments.pop(eio_sid, None)
        if count > 1:
            log.info("connection %s closed after %d refused packets", eio_sid, count)
        await super()._handle_eio_disconnect(eio_sid, reason)


def make_sio(settings: Settings) -> EdgeServer:
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)
        if settings.redis_url
        else None
    )
    return EdgeServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[settings.public_url],
        transports=["websocket"],
        max_http_buffer_size=TRANSPORT_MAX_BYTES,
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )
