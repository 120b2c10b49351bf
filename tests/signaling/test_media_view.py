"""``media.view``: the page says how big it shows each remote tile; the engine is told, bad
input is refused naming the field (nothing reaches the engine), and a view from someone not
in the room is refused and audited."""

from __future__ import annotations

from typing import Any

import pytest

from server.db.models import AuditEntry
from server.domain import AuditOutcome, GroupRole
from server.media.port import TileSize

from .conftest import Server


async def test_a_view_reaches_the_engine_and_replaces_the_last(media_server: Server) -> None:
    server = media_server
    media = server.media
    assert media is not None
    w = server.world
    sid = str(w.session_id)
    leader = server.peer(w.leader, GroupRole.LEADER)
    member = server.peer(w.members[0])
    await leader.enter()
    await member.enter()
    a, b = str(w.leader), str(w.members[1])
    tiles = [{"person_id": a, "size": "large"}, {"person_id": b, "size": "small"}]
    assert await member.call("media.view", {"tiles": tiles}) == {"ok": True}
    assert media.views[(sid, str(member.person_id))] == {a: TileSize.LARGE, b: TileSize.SMALL}
    # the tab is hidden: everything hidden
    tiles = [{"person_id": a, "size": "hidden"}]
    assert await member.call("media.view", {"tiles": tiles}) == {"ok": True}
    assert media.views[(sid, str(member.person_id))] == {a: TileSize.HIDDEN}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tiles": [{"person_id": "1", "size": "huge"}]}, "size"),
        ({"tiles": [{"person_id": "x1", "size": "large"}]}, "person_id"),
        ({"tiles": [{"person_id": "1", "size": "large", "px": 3}]}, "px"),
        ({"tiles": [{"person_id": "7", "size": "small"}] * 2}, "tiles"),
        ({"tiles": [{"person_id": str(i), "size": "small"} for i in range(1, 66)]}, "tiles"),
        ({}, "tiles"),
        ({"tiles": []}, "tiles"),  # nobody else: nothing to say
    ],
)
async def test_bad_views_are_refused_naming_the_field(
    media_server: Server, payload: dict[str, Any], field: str
) -> None:
    server = media_server
    media = server.media
    assert media is not None
    member = server.peer(server.world.members[0])
    await member.enter()
    reply = await member.call("media.view", payload)
    assert reply["error"]["code"] == "invalid", reply
    assert field in reply["error"]["message"], reply
    assert media.views == {}


async def test_a_view_before_joining_is_refused_and_audited(media_server: Server) -> None:
    server = media_server
    member = server.peer(server.world.members[0])
    await member.connect()
    await member.call("hello", {"v": 1})
    reply = await member.call("media.view", {"tiles": [{"person_id": "1", "size": "large"}]})
    assert reply["error"]["code"] == "not_in_room", reply
    assert server.media is not None and server.media.views == {}
    rows = await server.db_rows(AuditEntry, action="signal.media.view")
    assert len(rows) == 1 and rows[0].outcome == AuditOutcome.REFUSED
