"""Pathways (docs/pathways.md): peer support as a pathway (a Burnout Assessment Tool result at
or above the cut-off queues one offer; opt-in, matching, one to three conversations,
evaluations), members' private messages to their group's leaders, and the hosts and meeting
reports of self-help groups.

``setup(app)`` (after the questionnaires' answering side) listens to submitted responses
through the questionnaire side's port and mounts the REST routes.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, SETTINGS_KEY
from server.pathways.api_conversations import router as conversations_router
from server.pathways.api_groups import router as groups_router
from server.pathways.api_peer import router as peer_router
from server.pathways.offers import OfferListener, OfferRule
from server.questionnaires.submitted import SUBMITTED_KEY

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    rule = OfferRule(cutoff=settings.peer_support_bat_cutoff, public_url=settings.public_url)
    app[SUBMITTED_KEY].append(OfferListener(rule))
    app[API_ROUTERS_KEY].extend([peer_router, conversations_router, groups_router])
