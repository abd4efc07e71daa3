"""run_statements: several statements as one transaction (one round trip on PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection

from core.db.sql import CACHED_STATEMENT_PARAMS, db_uuid, run_statements
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


def _insert_thread(thread_id: uuid.UUID) -> tuple[str, list]:
    return (
        "INSERT INTO threads_thread (thread_id, status, metadata, config, interrupts, created_at, updated_at,"
        " state_updated_at) VALUES (%s, 'idle', '{}', '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP) RETURNING thread_id",
        [db_uuid(thread_id)],
    )


def test_each_statement_answers_its_own_rows() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    results = run_statements(
        [
            _insert_thread(first),
            ("UPDATE threads_thread SET status = 'busy' WHERE thread_id = %s", [db_uuid(first)]),
            _insert_thread(second),
            ("SELECT count(*) FROM threads_thread WHERE status = %s", ["busy"]),
        ]
    )
    assert [len(rows) for rows in results] == [1, 0, 1, 1]
    assert results[3][0][0] == 1
    assert Thread.objects.count() == 2


def test_a_failing_statement_undoes_the_earlier_ones_and_the_connection_goes_on() -> None:
    kept = uuid.uuid4()
    with pytest.raises(IntegrityError):
        run_statements([_insert_thread(kept), _insert_thread(kept)])  # the same primary key twice
    assert not Thread.objects.exists()
    assert run_statements([_insert_thread(kept)])[0]
    assert Thread.objects.filter(pk=kept).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="deferred foreign keys")
def test_a_foreign_key_refused_at_commit_raises_and_the_connection_goes_on() -> None:
    thread = uuid.uuid4()
    with pytest.raises(DatabaseError, match="foreign key"):
        run_statements(
            [
                _insert_thread(thread),
                (
                    "INSERT INTO runs_run (run_id, thread_id, assistant_id, status, multitask_strategy, metadata,"
                    " kwargs, attempt, worker, created_at, updated_at) VALUES (%s, %s, %s, 'pending', 'enqueue',"
                    " '{}', '{}', 0, '', now(), now())",
                    [db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4())],
                ),
            ]
        )
    assert not Thread.objects.exists()
    assert run_statements([("SELECT 1", [])]) == [[(1,)]]


def test_inside_a_transaction_the_statements_join_it_and_roll_back_with_it() -> None:
    from django.db import transaction

    kept, undone = uuid.uuid4(), uuid.uuid4()
    run_statements([_insert_thread(kept)])
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run_statements(
            [_insert_thread(undone), ("SELECT count(*) FROM threads_thread", [])]
        )[1] == [(2,)]
        raise RuntimeError("the caller's transaction fails")
    assert list(Thread.objects.values_list("pk", flat=True)) == [kept]
    with transaction.atomic():
        run_statements([_insert_thread(undone)])
    assert Thread.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="deferred foreign keys")
def test_a_single_statement_is_its_own_transaction_and_its_foreign_keys_are_checked() -> None:
    orphan = (
        "INSERT INTO runs_run (run_id, thread_id, assistant_id, status, multitask_strategy, metadata,"
        " kwargs, attempt, worker, created_at, updated_at) VALUES (%s, %s, %s, 'pending', 'enqueue',"
        " '{}', '{}', 0, '', now(), now())",
        [db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4())],
    )
    with pytest.raises(IntegrityError, match="foreign key"):
        run_statements([orphan])
    assert connection.connection.info.transaction_status == 0  # idle: nothing left open
    thread = uuid.uuid4()
    assert run_statements([_insert_thread(thread)]) == [[(thread,)]]
    assert Thread.objects.filter(pk=thread).exists()


def _server_prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's prepared statements")
@pytest.mark.parametrize("where", ["own transaction", "caller's transaction", "caller's savepoint"])
@pytest.mark.parametrize("fail_at", [0, 1, 2])
def test_failed_pipelines_never_leave_prepared_statements_out_of_step(
    fail_at: int, where: str
) -> None:
    """psycopg records a statement as prepared when it queues the Parse, and a failed
    statement makes PostgreSQL skip what follows it in the pipeline, those Parse messages
    included. Failures before and after the statements reach psycopg's prepare threshold,
    at each position of a three-statement batch, in run_statements' own transaction or
    in the caller's, must leave every statement the client believes prepared present on
    the server, and the next batch working."""
    from django.db import transaction

    connection.close()  # a new connection: psycopg's counts start at zero
    thread = uuid.uuid4()
    run_statements([_insert_thread(thread)])
    tid = db_uuid(thread)

    def batch(*, fail: bool) -> list[tuple[str, list]]:
        # Each statement takes a jsonb value; PostgreSQL refuses \u0000 in jsonb, so the
        # same statement (one psycopg cache entry) fails on the server with a bad value.
        values = [
            '"a\\u0000b"' if fail and index == fail_at else '{"k": "v"}' for index in range(3)
        ]
        return [
            (
                "SELECT 1 FROM threads_thread t WHERE t.thread_id = %s AND %s::jsonb IS NOT NULL"
                " FOR NO KEY UPDATE OF t",
                [tid, values[0]],
            ),
            (
                "UPDATE threads_thread SET metadata = %s::jsonb WHERE thread_id = %s",
                [values[1], tid],
            ),
            (
                "SELECT metadata::text, %s::jsonb::text FROM threads_thread WHERE thread_id = %s",
                [values[2], tid],
            ),
        ]

    def good() -> None:
        assert run_statements(batch(fail=False))[2] == [('{"k": "v"}', '{"k": "v"}')]

    def bad() -> None:
        if where == "own transaction":
            with pytest.raises(DatabaseError):
                run_statements(batch(fail=True))
        elif where == "caller's transaction":
            with pytest.raises(DatabaseError), transaction.atomic():
                run_statements(batch(fail=True))
        else:
            with transaction.atomic():
                with pytest.raises(DatabaseError), transaction.atomic():
                    run_statements(batch(fail=True))
                good()  # the caller's transaction goes on after its savepoint's rollback

    # One failure while nothing is prepared, then enough good batches to reach the
    # threshold (5), then failures while the statements get prepared, and so on.
    for round_ in range(12):
        if round_ in (0, 6, 7, 9):
            bad()
        else:
            good()
        raw = connection.connection
        believed = {name.decode() for name in raw._prepared._names.values()}
        assert believed <= _server_prepared_names(), f"round {round_}"
        assert raw.info.transaction_status == 0  # idle: nothing left open


def test_a_statement_of_a_checkpoint_put_s_size_is_converted_once() -> None:
    # A put on a thread's later run passes psycopg's default cache limit of 50
    # parameters (core.db.sql.CACHED_STATEMENT_PARAMS): it must still hit the cache.
    if connection.vendor != "postgresql":
        pytest.skip("psycopg only")
    from psycopg._queries import _query2pg

    params = list(range(CACHED_STATEMENT_PARAMS))
    sql = f"SELECT {', '.join(['%s::int'] * len(params))}"
    run_statements([(sql, params)])
    hits = _query2pg.cache_info().hits
    assert run_statements([(sql, params)]) == [[tuple(params)]]
    assert _query2pg.cache_info().hits == hits + 1
