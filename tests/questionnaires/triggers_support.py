"""Shared by the trigger tests and their second-process script: a dispatcher (or service) with
the questionnaire handlers registered, as the app wires them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.db.engine import Database
from server.notify.mailer import OutboxNotifier
from server.questionnaires.registry import load_registry
from server.questionnaires.triggers import FormsConfig, FormTriggers
from server.scheduling.handlers import DispatchHandlers
from server.scheduling.plan import SchedulingConfig
from server.scheduling.service import SchedulingService
from tests.conftest import SECRET

FORMS_CFG = FormsConfig(secret_key=SECRET)


def handlers() -> DispatchHandlers:
    h = DispatchHandlers()
    triggers = FormTriggers(FORMS_CFG, OutboxNotifier(), load_registry())
    for purpose in triggers.purposes:
        h.register(purpose, triggers.handle)
    return h


def service(
    db: Database, clock: Callable[[], datetime], worker: str = "test", **kw: Any
) -> SchedulingService:
    return SchedulingService(
        db.sessionmaker,
        SchedulingConfig(),
        OutboxNotifier(),
        clock=clock,
        worker=worker,
        handlers=handlers(),
        **kw,
    )
