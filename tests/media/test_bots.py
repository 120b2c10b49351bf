"""Bots join over Socket.IO (a minimal stand-in for the signaling contract) and see each other."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import socketio
from aiohttp import web

from server.bots.bot import Bot, BotMedia, run_bots
from server.bots.synthetic import encode_tone, encode_video
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings
from tests.media.harness import wait_until

pytestmark = pytest.mark.media

ROOM = "session-1"


class FakeSignaling(socketio.AsyncNamespace):  # type: ignore[misc]
    """hello / agreement / join / media.answer as docs/signaling.md describes them."""

    def __init__(self, engine: AiortcMediaEngine) -> None:
        super().__init__("/room")
        self.engine = engine
        self.people: dict[str, str] = {}  # sid -> person id
        self.accepted: set[str] = set()

    async def on_connect(self, sid: str, environ: Any, auth: dict[str, Any]) -> None:
        self.people[sid] = auth["token"].removeprefix("token-")

    async def on_hello(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        pid = self.people[sid]
        return {
            "ok": True,
            "you": {"person_id": pid, "role": "member", "display_name": pid},
            "agreement": {"required": True, "version": "1", "text": "..."},
        }

    async def on_agreement_accept(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        self.accepted.add(sid)
        return {"ok": True}

    async def on_join(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        if sid not in self.accepted:
            return {"ok": False, "error": {"code": "protocol", "message": "agreement"}}

        async def send(event: str, payload: dict[str, Any]) -> None:
            await self.emit(event, payload, to=sid)

        await self.engine.add_participant(ROOM, self.people[sid], send)
        return {"ok": True, "snapshot": {}}

    async def on_leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.engine.remove_participant(ROOM, self.people[sid])
        return {"ok": True}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # socketio maps "agreement.accept" to on_agreement.accept; normalise dots
        return await super().trigger_event(event.replace(".", "_"), *args)

    async def on_media_answer(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.engine.handle_answer(ROOM, self.people[sid], data["sdp"])
        return {"ok": True}


async def test_bots_join_and_see_each_other() -> None:
    engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback()))
    await engine.start()
    await engine.open_room(ROOM)
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.register_namespace(FakeSignaling(engine))
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    url = f"http://127.0.0.1:{port}"
    bots: list[Bot] = []
    try:
        media = BotMedia(width=160, height=90, fps=15, bitrate=100_000)
        for name in ("ada", "bob"):
            bot = Bot(
                url,
                name,
                f"token-{name}",
                video=encode_video(name, width=160, height=90, fps=15, bitrate=100_000, gop=5),
                audio=encode_tone(),
                gather_addresses=["127.0.0.1"],
                networks=IceSettings.loopback().allowed_networks,
            )
            await bot.start()
            bots.append(bot)
        ada, bob = (b.client for b in bots)
        assert ada is not None and bob is not None
        await wait_until(
            lambda: ada.frames_from("bob", "video") >= 5 and bob.frames_from("ada", "audio") >= 5,
            15,
            "bots receive each other",
        )
        # run_bots: joins, stays until stopped, leaves
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(url, [("cy", "token-cy")], stop=stop, media=media))
        await wait_until(lambda: ada.frames_from("cy", "video") >= 5, 15, "run_bots' bot seen")
        stop.set()
        await task
        await wait_until(lambda: engine.stats(ROOM).participants == 2, 5, "cy left")
    finally:
        for bot in bots:
            await bot.stop()
        await runner.cleanup()
        await engine.stop()
