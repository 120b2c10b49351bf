"""Typed keys for what the aiohttp application holds. No module-level state beyond the keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.auth.ratelimit import LoginLimiter
from server.db.engine import Database
from server.domain import RemovalReason
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
# Takes a person out of live rooms at once: (person_id, session_ids or None for all, reason).
# Set by the signaling plug-in; REST handlers call it after a withdrawal or deactivation.
RemoveFromRooms = Callable[[int, list[int] | None, RemovalReason], Awaitable[None]]
REMOVER_KEY: web.AppKey[RemoveFromRooms] = web.AppKey("remove_from_rooms")
