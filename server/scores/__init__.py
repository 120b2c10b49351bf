"""The individual and group scores of the "Healers' healing" platform (seed 000, Tables 3 and
4): the formulas, their configured normalisations and levels, and the inputs they read.

``setup(app)`` (called by the app factory) adds the REST routes.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY
from server.questionnaires.keys import INSTRUMENTS_KEY
from server.scores.api import QUESTIONNAIRES_KEY, router
from server.scores.questionnaire_reader import SqlQuestionnaires


def setup(app: web.Application) -> None:
    app[API_ROUTERS_KEY].append(router)
    # The registry is loaded by the questionnaire plug-in (which may run after this one).
    app[QUESTIONNAIRES_KEY] = SqlQuestionnaires(lambda: app.get(INSTRUMENTS_KEY))
