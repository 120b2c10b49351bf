"""Questionnaires: instruments as data files, responses, scoring, statistics, outcome reports,
research exports and imports (docs/questionnaires.md).

``setup(app)`` (called by the app factory) loads and validates every instrument file at start-up
(shipped ones, then ``instruments_dir``) into ``app[INSTRUMENTS_KEY]``: a bad file stops the
start with a message naming the file and the field. It also mounts the outcomes REST routes.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, SETTINGS_KEY
from server.questionnaires.api import router
from server.questionnaires.keys import INSTRUMENTS_KEY
from server.questionnaires.registry import load_registry

__all__ = ["INSTRUMENTS_KEY", "setup"]


def setup(app: web.Application) -> None:
    app[INSTRUMENTS_KEY] = load_registry(app[SETTINGS_KEY].effective_instruments_dir)
    app[API_ROUTERS_KEY].append(router)
