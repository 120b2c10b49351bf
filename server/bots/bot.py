"""Synthetic participants: join a live session over Socket.IO and publish a test pattern.

Each bot is a python-socketio client on namespace ``/room`` (auth ``{token}``) that says
``hello``, accepts the group agreement if asked, ``join`` s, and answers the server's
``media.offer`` with aiortc. It publishes a moving test pattern with its name and a tone that
sounds in turns with the other bots (so the speaker highlight moves). Media is encoded once
per bot at start and replayed; nothing is encoded per frame.

``circle bots`` (server/cli.py) and the demo command wrap :func:`run_bots`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import socketio

from server.bots.client import MediaClient
from server.bots.synthetic import EncodedClip, encode_tone, encode_video
from server.media.ice import LOOPBACK, IpNetwork

logger = logging.getLogger(__name__)

NAMESPACE = "/room"


@dataclass(frozen=True, slots=True)
class BotMedia:
    width: int = 320
    height: int = 180
    fps: int = 15
    bitrate: int = 300_000


class BotError(RuntimeError):
    """The server refused a bot (bad token, agreement, capacity ...)."""


class Bot:
    """One synthetic participant. ``start()`` connects and joins; ``stop()`` leaves."""

    def __init__(
        self,
        base_url: str,
        name: str,
        token: str,
        *,
        video: EncodedClip,
        audio: EncodedClip,
        gather_addresses: Sequence[str],
        networks: Sequence[IpNetwork],
    ) -> None:
        self.base_url = base_url
        self.name = name
        self._token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self._video = video
        self._audio = audio
        self._gather = list(gather_addresses)
        self._networks = tuple(networks)
        self.client: MediaClient | None = None
        self.person_id: str | None = None

    async def start(self) -> None:
        self.sio.on("media.offer", self._on_offer, namespace=NAMESPACE)
        self.sio.on("media.speaker", self._on_speaker, namespace=NAMESPACE)
        await self.sio.connect(
            self.base_url,
            namespaces=[NAMESPACE],
            auth={"token": self._token},
            transports=["websocket"],
        )
        hello = await self._call("hello", {"v": 1})
        self.person_id = str(hello.get("you", {}).get("person_id", self.name))
        self.client = MediaClient(
            self.person_id,
            audio=self._audio,
            video=self._video,
            gather_addresses=self._gather,
            networks=self._networks,
        )
        self.client.start(self._deliver_answer)
        agreement = hello.get("agreement") or {}
        if agreement.get("required"):
            await self._call("agreement.accept", {"version": str(agreement.get("version", ""))})
        await self._call("join", {})

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self._call("leave", {})
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        if self.client is not None:
            await self.client.stop()

    async def _call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.sio.call(event, payload, namespace=NAMESPACE, timeout=15)
        if not isinstance(ack, dict) or not ack.get("ok", False):
            raise BotError(f"{self.name}: {event} refused: {ack!r}")
        return ack

    async def _on_offer(self, payload: dict[str, Any]) -> None:
        if self.client is not None:
            await self.client.signal("media.offer", payload)

    async def _on_speaker(self, payload: dict[str, Any]) -> None:
        if self.client is not None:
            await self.client.signal("media.speaker", payload)

    async def _deliver_answer(self, sdp: str) -> None:
        await self._call("media.answer", {"sdp": sdp})


async def run_bots(
    base_url: str,
    join_tokens: list[tuple[str, str]],
    *,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    media: BotMedia | None = None,
    gather_addresses: Sequence[str] = ("127.0.0.1",),
    networks: Sequence[IpNetwork] = LOOPBACK,
) -> None:
    """Join one bot per ``(display name, join token)`` and keep them in the session until
    ``duration_s`` passes or ``stop`` is set (forever if neither); then they leave.

    ``gather_addresses``/``networks``: where the bots' ICE may gather and connect
    (loopback by default: bots run beside the server for demos and load)."""
    media = media or BotMedia()
    bots: list[Bot] = []
    n = len(join_tokens)
    for i, (name, token) in enumerate(join_tokens):
        video = await asyncio.to_thread(
            encode_video,
            name,
            width=media.width,
            height=media.height,
            fps=media.fps,
            bitrate=media.bitrate,
            seconds=2.0,
            gop=media.fps,
        )
        audio = await asyncio.to_thread(
            encode_tone, frequency=330.0 + 55.0 * (i % 8), slot=i, slots=max(1, n)
        )
        bots.append(
            Bot(
                base_url,
                name,
                token,
                video=video,
                audio=audio,
                gather_addresses=gather_addresses,
                networks=networks,
            )
        )
    started: list[Bot] = []
    try:
        for bot in bots:
            await bot.start()
            started.append(bot)
            logger.info("bot %s joined", bot.name)
        waiter = stop or asyncio.Event()
        if duration_s is None:
            await waiter.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=duration_s)
    finally:
        for bot in reversed(started):
            await bot.stop()
