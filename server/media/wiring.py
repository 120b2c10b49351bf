"""Wires the media engine into the application (``setup(app)``, called by create_app).

The engine starts before the signaling layer's rooms (its cleanup context is registered
first) and stops after them, so rooms never talk to a stopped engine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import MEDIA_KEY, SETTINGS_KEY
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings
from server.media.shard import ShardedMediaEngine
from server.settings import Settings


def ice_settings(settings: Settings) -> IceSettings:
    networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.media_allowed_networks)
    return IceSettings(
        stun_urls=tuple(settings.stun_uris),
        turn_urls=tuple(settings.turn_uris),
        turn_secret=settings.turn_secret,
        turn_ttl_s=settings.turn_ttl_s,
        allowed_networks=networks,  # none: public addresses only
        host_addresses=tuple(settings.media_host_addresses),
    )


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    if not settings.media_enabled:
        app[MEDIA_KEY] = None
        return
    if settings.turn_uris and not settings.turn_secret:
        raise ValueError("turn_uris is set but turn_secret is not (see docs/configuration.md)")

    # Whoever runs the rooms registers for lost media (server.signaling's rooms context).
    sfu = SfuSettings(ice=ice_settings(settings), udp_port=settings.media_udp_port)
    if settings.media_workers > 1:
        # Rooms hashed onto worker processes, one room in exactly one (docs/media.md).
        app[MEDIA_KEY] = ShardedMediaEngine(sfu, workers=settings.media_workers)
    else:
        app[MEDIA_KEY] = AiortcMediaEngine(sfu)
    app.cleanup_ctx.append(_engine_ctx)


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = app[MEDIA_KEY]
    await engine.start()
    try:
        yield
    finally:
        await engine.stop()
