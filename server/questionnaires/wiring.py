"""Wires the answering side into the app: its REST routes and its dispatch handlers (the
questionnaire purposes, run inside the scheduler's sweep)."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, SETTINGS_KEY
from server.notify import NOTIFIER_KEY
from server.questionnaires import INSTRUMENTS_KEY
from server.questionnaires import api_more as _api_more  # noqa: F401 - its routes join router
from server.questionnaires.form_api import router
from server.questionnaires.submitted import SUBMITTED_KEY
from server.questionnaires.triggers import FormsConfig, FormTriggers
from server.scheduling.handlers import HANDLERS_KEY


def setup(app: web.Application) -> None:
    """Called by the app factory after ``notify``, ``scheduling`` and ``questionnaires``."""
    app[API_ROUTERS_KEY].append(router)
    app[SUBMITTED_KEY] = []  # listeners of submitted responses (submitted.py)
    triggers = FormTriggers(
        FormsConfig.from_settings(app[SETTINGS_KEY]), app[NOTIFIER_KEY], app[INSTRUMENTS_KEY]
    )
    for purpose in triggers.purposes:
        app[HANDLERS_KEY].register(purpose, triggers.handle)
