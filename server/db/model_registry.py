"""Every module that defines tables, imported so the metadata is complete (Alembic, tests).

Like ``server/app.py`` this module composes: it may import every package's models, and
nothing but the migrations and tests imports it. A package with tables adds its module here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import server.attendance.models
import server.auth.spent
import server.coaching.models
import server.db.hosts
import server.notify.models
import server.pathways.models
import server.privacy.models
import server.questionnaires.form_models
import server.questionnaires.models
import server.rooms.models
import server.scheduling.models
from server.db.models import Base

TABLE_MODULES = (
    server.attendance.models,
    server.auth.spent,
    server.coaching.models,
    server.db.hosts,
    server.notify.models,
    server.pathways.models,
    server.privacy.models,
    server.questionnaires.form_models,
    server.questionnaires.models,
    server.rooms.models,
    server.scheduling.models,
)


def metadata() -> MetaData:
    return Base.metadata
