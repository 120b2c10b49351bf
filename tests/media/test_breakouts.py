"""A workshop splits into breakouts and back, end to end: the real server (create_app, the
Socket.IO signaling, the aiortc forwarding unit on loopback) and bots that send real audio.
While split, a member of group A receives nothing of group B's audio (and still hears their
own group); once everyone is back, everyone receives everyone again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.appkeys import MEDIA_KEY
from server.bots.bot import Bot
from server.domain import GroupRole
from server.media.ice import IceSettings
from tests.conftest import SECRET, make_settings, start_app
from tests.media.harness import Clips, wait_until
from tests.signaling.conftest import Peer, seed
from tests.signaling.test_breakouts import as_workshop_db

pytestmark = pytest.mark.media

IN_FLIGHT_S = 0.2  # packets already on the wire when the gate closes
QUIET_WINDOW_S = 1.5  # how long "nothing arrives" is watched for (no event for an absence)


async def test_breakouts_split_media_by_group_and_bring_everyone_back(
    sqlite_url: str, tmp_path: Path, clips: Clips
) -> None:
    from server.auth.tokens import mint_join_token

    w = await seed(sqlite_url, members=4)
    await as_workshop_db(sqlite_url, w.group_id, w.session_id)
    settings = make_settings(sqlite_url, tmp_path, media_allowed_networks=["127.0.0.0/8"])
    runner, live = await start_app(settings.model_copy(update={"media_enabled": True}))
    engine = live.app[MEDIA_KEY]
    leader = Peer(live.url, w.leader, w.session_id, GroupRole.LEADER)
    bots: list[Bot] = []
    try:
        await leader.enter()
        for pid in w.members:
            token = mint_join_token(
                SECRET, person_id=pid, session_id=w.session_id, role=GroupRole.MEMBER
            )
            bot = Bot(
                live.url,
                str(pid),
                token,
                video=clips.video,
                audio=clips.audio,
                gather_addresses=["127.0.0.1"],
                networks=IceSettings.loopback().allowed_networks,
            )
            await bot.start()
            bots.append(bot)
        a1, a2, b1, b2 = (b.client for b in bots)
        assert a1 is not None and a2 is not None and b1 is not None and b2 is not None
        ida, ida2, idb, idb2 = (str(p) for p in w.members)

        def heard(client: object, who: str) -> int:
            return client.frames_from(who, "audio")  # type: ignore[attr-defined,no-any-return]

        await wait_until(
            lambda: heard(a1, idb) >= 10 and heard(b1, ida) >= 10 and heard(a1, ida2) >= 10,
            20,
            "everyone hears everyone before the split",
        )
        for _ in range(2):
            assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
        await leader.until(lambda s: s["phase"] == "case_work_1")
        reply = await leader.call("breakout.open", {"groups": [[ida, ida2], [idb, idb2]]})
        assert reply["ok"], reply
        await leader.until(lambda s: s["breakouts"] is not None)

        await asyncio.sleep(IN_FLIGHT_S)
        across = (heard(a1, idb), heard(a1, idb2), heard(b1, ida), heard(b2, ida2))
        own = (heard(a1, ida2), heard(b1, idb2))
        await asyncio.sleep(QUIET_WINDOW_S)
        assert (heard(a1, idb), heard(a1, idb2), heard(b1, ida), heard(b2, ida2)) == across, (
            "audio crossed between breakout groups"
        )
        assert heard(a1, ida2) > own[0] and heard(b1, idb2) > own[1], "own group not heard"
        stats = engine.stats(str(w.session_id))
        assert stats.dropped_packets > 0  # the gate kept B's packets from A, and A's from B

        assert (await leader.call("breakout.close", {}))["ok"]
        await leader.until(lambda s: s["breakouts"] is None)
        back = (heard(a1, idb), heard(b1, ida))
        await wait_until(
            lambda: heard(a1, idb) >= back[0] + 10 and heard(b1, ida) >= back[1] + 10,
            10,
            "everyone hears everyone again after the breakouts",
        )
    finally:
        for bot in bots:
            await bot.stop()
        await leader.close()
        await runner.cleanup()
