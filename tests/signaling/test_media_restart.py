"""``media.restart``: a client whose media connection failed (ICE/DTLS) and did not heal asks
its room for a fresh one; it gets a new offer with the room's rules already applied, within
the same bound as the engine's own restarts, and only while present."""

from __future__ import annotations

from server.rooms.media_link import MEDIA_RESTARTS_MAX

from .conftest import Server
from .test_media_lost import offers, settle, sit_back, wait_offers


async def test_a_client_restart_gives_a_fresh_connection_with_the_rules(
    media_server: Server,
) -> None:
    _, presenter, media, sid = await sit_back(media_server)
    pid = str(presenter.person_id)
    before = offers(presenter)
    reply = await presenter.call("media.restart", {})
    assert reply["ok"] is not None, reply
    await wait_offers(presenter, before + 1)
    # a new connection: the old one removed first, rights given before it existed
    assert media.calls[-1] == f"add {pid} (False, True)"
    assert media.rights[(sid, pid)] == (False, True)


async def test_client_restarts_are_bounded(media_server: Server) -> None:
    _, presenter, _media, _sid = await sit_back(media_server)
    for _ in range(MEDIA_RESTARTS_MAX):
        n = offers(presenter)
        await presenter.call("media.restart", {})
        await wait_offers(presenter, n + 1)
    n = offers(presenter)
    await presenter.call("media.restart", {})
    await settle(presenter)
    assert offers(presenter) == n


async def test_restart_refuses_extra_fields_and_absent_people(media_server: Server) -> None:
    _, presenter, _media, _sid = await sit_back(media_server)
    bad = await presenter.call("media.restart", {"now": True})
    assert bad["error"]["code"] == "invalid", bad
    n = offers(presenter)
    outsider = media_server.peer(media_server.world.members[1])
    await outsider.connect()
    refused = await outsider.call("media.restart", {})
    assert "error" in refused, refused
    await settle(presenter)
    assert offers(presenter) == n
