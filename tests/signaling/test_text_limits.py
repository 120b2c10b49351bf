"""Text limits are counted in characters (and payload limits in UTF-8 bytes), not on
ASCII-escaped JSON: 4,000 Persian letters make a valid leader note, as they make a valid
REST name of the stated length."""

from __future__ import annotations

from typing import Any

from server.domain import GroupRole
from tests.foundation.seed import PASSWORD
from tests.foundation.seed import seed as seed_people

from .conftest import Server

PERSIAN = "\u0641"  # ف: 2 bytes of UTF-8, 6 as an ASCII-escaped \u0641
EMOJI = "\U0001f600"  # 4 bytes of UTF-8, 12 escaped (a surrogate pair)


async def test_leader_note_limit_is_in_characters(server: Server) -> None:
    leader = server.peer(server.world.leader, GroupRole.LEADER)
    await leader.enter()
    for text in (PERSIAN * 4000, EMOJI * 4000, "\x01" * 4000, '"' * 4000):
        reply = await leader.call("leader.note", {"text": text})
        assert reply["ok"], (text[:3], reply)
    # one character more is refused by the stated limit, and says so
    too_long = await leader.call("leader.note", {"text": PERSIAN * 4001})
    assert too_long["ok"] is False and too_long["error"]["code"] == "invalid", too_long
    assert "4000" in too_long["error"]["message"]


async def test_rest_name_limit_is_in_characters(
    sqlite_url: str, live_sqlite: Any, api_factory: Any
) -> None:
    await seed_people(sqlite_url, members=1)
    api = api_factory(live_sqlite)
    status, _ = await api.post(
        "/api/auth/login", {"email": "leader@test.example", "password": PASSWORD}
    )
    assert status == 200
    status, me = await api.call("PATCH", "/api/me", {"display_name": PERSIAN * 120})
    assert status == 200 and me["display_name"] == PERSIAN * 120, me
    status, body = await api.call("PATCH", "/api/me", {"display_name": PERSIAN * 121})
    assert status == 400 and "display_name" in body["error"]["message"], body
