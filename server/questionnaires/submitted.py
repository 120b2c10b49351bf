"""The port through which other features hear of a submitted questionnaire response.

A feature (the peer-support pathway, server/pathways) appends a listener to
``app[SUBMITTED_KEY]`` in its ``setup(app)``; the REST submission calls each one with every
response of the form, in the submission's transaction, so whatever the listener writes exists
if and only if the submission committed. Listeners see the scores, never the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.notify.mailer import Notifier


@dataclass(frozen=True, slots=True)
class Submitted:
    response_id: int
    person_id: int
    organisation_id: int
    series_id: int | None
    instrument: str
    timepoint: str
    total: float | None
    locale: str | None


class SubmissionListener(Protocol):
    async def __call__(
        self, s: AsyncSession, sub: Submitted, notifier: Notifier, now: datetime
    ) -> None: ...


SUBMITTED_KEY = web.AppKey("questionnaire_submitted_listeners", list[SubmissionListener])
