"""Parameters and clauses for the few hand-written SQL statements on the run engine's hot
path (claim, finish, the checkpointer), portable between PostgreSQL and SQLite.

Compiling an ORM query costs more CPU than PostgreSQL spends executing these small
statements, and a run executes a dozen of them.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.db import connection, models

_UUID = models.UUIDField()


def db_uuid(value: uuid.UUID | str) -> Any:
    """A UUID as this database stores it (a uuid on PostgreSQL, 32 hex digits on SQLite)."""
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return _UUID.get_db_prep_value(value, connection)


def from_db_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def db_datetime(value: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def db_json(value: Any) -> str | None:
    """A JSONField value: SQL NULL for None, as the ORM writes it."""
    return None if value is None else json.dumps(value)


def from_db_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def for_no_key_update(alias: str) -> str:
    """Row lock clause: PostgreSQL locks; SQLite serializes writers on its own."""
    return f" FOR NO KEY UPDATE OF {alias}" if connection.vendor == "postgresql" else ""
