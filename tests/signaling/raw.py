"""A raw Engine.IO/Socket.IO client over one websocket: sends exact frames (including ones no
well-behaved client library would produce) and reads the server's frames back."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

NS = "/room"


class Closed(Exception):
    """The server closed the websocket (``code`` is its close code)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed with {code}")
        self.code = code


class RawSocket:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self.next_id = 1
        self.acks: dict[int, Any] = {}
        self.frames: list[str] = []
        self.close_reason = ""

    @classmethod
    async def open(cls, base_url: str, token: str | None = None) -> RawSocket:
        http = aiohttp.ClientSession()
        url = base_url + "/socket.io/?EIO=4&transport=websocket"
        ws = await http.ws_connect(url, max_msg_size=0)
        sock = cls(http, ws)
        first = await sock._recv()
        assert first.startswith("0{"), first
        if token is not None:
            await ws.send_str(f"40{NS}," + json.dumps({"token": token}))
            reply = await sock._recv()
            assert reply.startswith(f"40{NS},"), reply
        return sock

    async def _recv(self, wait_s: float = 10) -> str:
        while True:
            msg = await self.ws.receive(timeout=wait_s)
            if msg.type == aiohttp.WSMsgType.CLOSE:
                self.close_reason = str(msg.extra or "")
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            ):
                raise Closed(self.ws.close_code)
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise Closed(self.ws.close_code)
            data = msg.data
            if data == "2":  # Engine.IO ping: answer, keep waiting
                await self.ws.send_str("3")
                continue
            if data == "1":  # Engine.IO close: the server ends the connection
                await self.ws.close()
                raise Closed(self.ws.close_code)
            self.frames.append(data)
            return str(data)

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    def event_frame(self, event: Any, *args: Any, ack: bool = True) -> tuple[str, int | None]:
        ack_id = None
        head = f"42{NS},"
        if ack:
            ack_id = self.next_id
            self.next_id += 1
            head += str(ack_id)
        return head + json.dumps([event, *args], separators=(",", ":")), ack_id

    async def ack(self, ack_id: int, wait_s: float = 10) -> Any:
        """The server's answer to ``ack_id`` (other frames read meanwhile are kept)."""
        prefix = f"43{NS},{ack_id}"
        while True:
            for frame in self.frames:
                if frame.startswith(prefix) and frame[len(prefix) : len(prefix) + 1] == "[":
                    self.frames.remove(frame)
                    return json.loads(frame[len(prefix) :])[0]
            await self._recv(wait_s)

    async def call(self, event: Any, *args: Any) -> Any:
        frame, ack_id = self.event_frame(event, *args)
        await self.send(frame)
        assert ack_id is not None
        return await self.ack(ack_id)

    async def call_raw(self, frame_after_id: str) -> Any:
        """Send ``42/room,<id><frame_after_id>`` and return the answer to it."""
        ack_id = self.next_id
        self.next_id += 1
        await self.send(f"42{NS},{ack_id}{frame_after_id}")
        return await self.ack(ack_id)

    async def wait_closed(self, wait_s: float = 10) -> int | None:
        with contextlib.suppress(Closed, asyncio.TimeoutError):
            while True:
                await self._recv(wait_s)
        return self.ws.close_code

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        await self.http.close()
