"""A room of aiortc clients around one in-process SFU engine, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from server.bots.client import MediaClient
from server.bots.synthetic import EncodedClip, encode_tone, encode_video
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings

ROOM = "room-1"


class Clips:
    """Small media (encoded once per test session): 160x90 at 15 fps, a key frame every 5."""

    def __init__(self) -> None:
        self.video = encode_video("bot", width=160, height=90, fps=15, bitrate=100_000, gop=5)
        self.audio = encode_tone()


# ``...``: the callers' lambdas bind loop variables as defaults (lambda p=p: ...), which
# mypy cannot match against a no-argument callable; wait_until calls cond() with none.
# ``object``: the condition is tested for truth (a list of errors counts once non-empty).
async def wait_until(cond: Callable[..., object], timeout: float, what: str) -> None:  # noqa: ASYNC109
    """Poll a condition on the event loop (media counters have no events to await)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


class Harness:
    def __init__(self, clips: Clips, settings: SfuSettings | None = None) -> None:
        self.clips = clips
        self.engine = AiortcMediaEngine(settings or SfuSettings(ice=IceSettings.loopback()))
        self.clients: dict[str, MediaClient] = {}

    async def __aenter__(self) -> Harness:
        await self.engine.start()
        await self.engine.open_room(ROOM)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in list(self.clients.values()):
            await client.stop()
        self.clients.clear()
        await self.engine.stop()

    def make_client(
        self,
        pid: str,
        *,
        audio: EncodedClip | bool | None = True,
        video: EncodedClip | bool | None = True,
        decode_from: Iterable[str] = (),
        **kwargs: object,
    ) -> MediaClient:
        a = self.clips.audio if audio is True else (audio or None)
        v = self.clips.video if video is True else (video or None)
        return MediaClient(pid, audio=a, video=v, decode_from=tuple(decode_from), **kwargs)  # type: ignore[arg-type]

    async def join(
        self, pid: str, client: MediaClient | None = None, **kwargs: object
    ) -> MediaClient:
        client = client or self.make_client(pid, **kwargs)  # type: ignore[arg-type]
        self.clients[pid] = client

        async def deliver(answer: str) -> None:
            await self.engine.handle_answer(ROOM, pid, answer)

        client.start(deliver)
        await self.engine.add_participant(ROOM, pid, client.signal)
        return client

    async def leave(self, pid: str, *, goodbye: bool = True) -> None:
        client = self.clients.pop(pid)
        if goodbye:
            await self.engine.remove_participant(ROOM, pid)
        await client.stop()

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        def all_connected() -> bool:
            return all(c.pc.connectionState == "connected" for c in self.clients.values())

        await wait_until(all_connected, timeout, "every client connected")
