"""Wires the answering side into the app: its REST routes and its dispatch handlers (the
questionnaire purposes, run inside the scheduler's sweep)."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, SETTINGS_KEY


def setup(app: web.Application) -> None:
    """Called by the app factory after ``scheduling.setup`` and ``questionnaires.setup``."""
    from server.questionnaires import INSTRUMENTS_KEY, api_more  # noqa: F401 - registers routes
    from server.questionnaires.form_api import router
    from server.questionnaires.triggers import FormsConfig, FormTriggers
    from server.scheduling.handlers import HANDLERS_KEY
    from server.scheduling.notifier import notifier_from_settings

    settings = app[SETTINGS_KEY]
    app[API_ROUTERS_KEY].append(router)
    triggers = FormTriggers(
        FormsConfig.from_settings(settings), notifier_from_settings(settings), app[INSTRUMENTS_KEY]
    )
    for purpose in triggers.purposes:
        app[HANDLERS_KEY].register(purpose, triggers.handle)
