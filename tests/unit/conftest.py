"""Unit tests touch no database; tests that need one live in tests/integration.

pytest-django already refuses database access to a test without the django_db mark; this
guard refuses the mark (and the database fixtures) under tests/unit, so the rule holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).parent
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)


def uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    offenders = [
        item.nodeid for item in items if UNIT_DIR in item.path.parents and uses_database(item)
    ]
    if offenders:
        raise pytest.UsageError(
            "tests/unit must not use the database (move these to tests/integration): "
            + ", ".join(offenders)
        )
