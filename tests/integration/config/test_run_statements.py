"""run_statements: several statements as one transaction (one round trip on PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection

from config.sql import db_uuid, run_statements
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
    results = run_statements([
        _insert_thread(first),
        ("UPDATE threads_thread SET status = 'busy' WHERE thread_id = %s", [db_uuid(first)]),
        _insert_thread(second),
        ("SELECT count(*) FROM threads_thread WHERE status = %s", ["busy"]),
    ])
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
        run_statements([
            _insert_thread(thread),
            (
                "INSERT INTO runs_run (run_id, thread_id, assistant_id, status, multitask_strategy, metadata,"
                " kwargs, attempt, worker, created_at, updated_at) VALUES (%s, %s, %s, 'pending', 'enqueue',"
                " '{}', '{}', 0, '', now(), now())",
                [db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4()), db_uuid(uuid.uuid4())],
            ),
        ])
    assert not Thread.objects.exists()
    assert run_statements([("SELECT 1", [])]) == [[(1,)]]


def test_inside_a_transaction_the_statements_join_it_and_roll_back_with_it() -> None:
    from django.db import transaction

    kept, undone = uuid.uuid4(), uuid.uuid4()
    run_statements([_insert_thread(kept)])
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run_statements([_insert_thread(undone), ("SELECT count(*) FROM threads_thread", [])])[1] == [(2,)]
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
