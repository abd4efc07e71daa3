"""Fresh planner statistics for tables that are still young.

The run engine's statements are prepared (psycopg prepares a statement after a few
runs, see settings), and PostgreSQL keeps the plan it made for one until the table is
analyzed again. Planned while a table held a few rows, that is a sequential scan, and
it stays one while the table grows: measured on a new database, PostgreSQL's CPU per run
nearly doubled over 2,500 runs. Autovacuum analyzes after 10% of a table changed, but
looks only once a minute (autovacuum_naptime), which a young table outgrows many times
over. The sweeper therefore analyzes a table whose changes since its last analyze
outnumber its rows: that happens a handful of times while it is young, and then never
before autovacuum gets there first.
"""

from __future__ import annotations

import logging

from django.db import connection, models

logger = logging.getLogger(__name__)

MIN_CHANGES = 500


def analyze_grown_tables(
    tables: list[type[models.Model]], *, min_changes: int = MIN_CHANGES
) -> list[str]:
    """ANALYZE those of `tables` changed by at least max(min_changes, their rows) since
    their last analyze; return their names. PostgreSQL only (elsewhere: nothing)."""
    if connection.vendor != "postgresql":
        return []
    names = [model._meta.db_table for model in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
            " AND relname = ANY(%s) AND n_mod_since_analyze >= GREATEST(%s, n_live_tup)",
            [names, min_changes],
        )
        grown = sorted(name for (name,) in cursor.fetchall())
        for name in grown:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    if grown:
        logger.info("Analyzed grown tables: %s", ", ".join(grown))
    return grown
