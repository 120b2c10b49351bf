"""Typed keys for what the aiohttp application holds. No module-level state beyond the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.auth.ratelimit import LoginLimiter
from server.db.engine import Database
from server.settings import Settings

if TYPE_CHECKING:  # only the signaling layer and the app touch Socket.IO at run time
    import socketio

SETTINGS_KEY = web.AppKey("settings", Settings)
DB_KEY = web.AppKey("db", Database)
SIO_KEY: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
LIMITER_KEY = web.AppKey("login_limiter", LoginLimiter)
# The media engine (server.media.port.MediaEngine) or None when media is disabled.
MEDIA_KEY: web.AppKey[Any] = web.AppKey("media")
# Routers of the JSON API. Plug-ins (signaling, scheduling, ...) append theirs in setup(app);
# create_app mounts them all and renders the OpenAPI document after every setup ran.
API_ROUTERS_KEY = web.AppKey("api_routers", list)
