"""Imports every module that defines tables, so the metadata is complete for Alembic."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

# Modules that add tables to Base.metadata beyond server.db.models.
TABLE_MODULES = ("server.db.models", "server.scheduling.models")


def metadata() -> MetaData:
    from server.db.models import Base

    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base.metadata
