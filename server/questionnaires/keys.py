"""The questionnaire side's application key (the instruments in force)."""

from __future__ import annotations

from aiohttp import web

from server.questionnaires.registry import Registry

INSTRUMENTS_KEY = web.AppKey("instruments", Registry)
