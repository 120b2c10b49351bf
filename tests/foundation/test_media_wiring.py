"""The app runs the media engine when media is enabled, and refuses half a TURN setup."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.app import create_app
from server.appkeys import MEDIA_KEY
from server.errors import NotFound
from server.media.sfu import AiortcMediaEngine
from tests.conftest import make_settings, start_app


async def test_engine_started_with_the_app_and_stopped_after(sqlite_url: str, tmp_path: Path):
    runner, live = await start_app(make_settings(sqlite_url, tmp_path, media_enabled=True))
    engine = live.app[MEDIA_KEY]
    try:
        assert isinstance(engine, AiortcMediaEngine)
        await engine.open_room("1")
        assert engine.stats("1").participants == 0
    finally:
        await runner.cleanup()
    with pytest.raises(NotFound):  # the room was closed with the app
        engine.stats("1")


def test_media_disabled_and_bad_turn_config(sqlite_url: str, tmp_path: Path):
    app = create_app(make_settings(sqlite_url, tmp_path, media_enabled=False))
    assert app[MEDIA_KEY] is None
    with pytest.raises(ValueError, match="turn_secret"):
        create_app(
            make_settings(
                sqlite_url, tmp_path, media_enabled=True, turn_uris=["turn:127.0.0.1:3478"]
            )
        )


async def test_media_workers_shard_rooms_over_processes(sqlite_url: str, tmp_path: Path):
    from server.media.shard import ShardedMediaEngine

    runner, live = await start_app(
        make_settings(sqlite_url, tmp_path, media_enabled=True, media_workers=2)
    )
    try:
        engine = live.app[MEDIA_KEY]
        assert isinstance(engine, ShardedMediaEngine) and engine.workers == 2
        await engine.open_room("7")
        await engine.close_room("7")
    finally:
        await runner.cleanup()
