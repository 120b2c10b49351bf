"""Every module that defines tables, imported so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    import server.questionnaires.form_models  # the answering side's tables (and responses)
    import server.questionnaires.models  # registers the questionnaire tables
    import server.scheduling.models  # noqa: F401 - registers the scheduling tables
    from server.db.models import Base

    return Base.metadata
