"""config/broker.py: Celery's messages go through kombu's Redis transport with one Redis
client per channel, made again only when the channel's connection pool is."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Producer

from config.broker import Channel
from config.celery import app
from runs import dispatch, tasks  # noqa: F401  (registers runs.execute_run)
from tests.broker import QUEUE, queued, remove_queued


def test_messages_reach_the_queue_through_one_client_per_channel() -> None:
    queue = f"spindle-test-{uuid.uuid4()}"
    direct = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            assert isinstance(channel, Channel)
            with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
                assert first is second
            run_ids = [str(uuid.uuid4()) for _ in range(3)]
            for run_id in run_ids:
                app.send_task(
                    "runs.execute_run",
                    args=[run_id],
                    task_id=run_id,
                    queue=queue,
                    connection=connection,
                )
            with channel.conn_or_acquire() as after:
                assert after is first

            # A channel whose connection was lost gets a new pool, and a client on it.
            channel._disconnect_pools()  # type: ignore[attr-defined]
            with channel.conn_or_acquire() as renewed:
                assert renewed is not first
                assert renewed.connection_pool is channel.pool
                assert renewed.ping()

        sent = [json.loads(message)["headers"]["id"] for message in direct.lrange(queue, 0, -1)]
        assert sorted(sent) == sorted(run_ids)
    finally:
        direct.delete(queue)
        direct.close()


def test_a_runs_message_goes_into_the_queue_without_declaring_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared: list[object] = []
    published: list[object] = []
    monkeypatch.setattr(
        Producer, "maybe_declare", lambda self, entity, **kw: declared.append(entity)
    )
    monkeypatch.setattr(Producer, "publish", lambda self, body, **kw: published.append(body))
    run_id = uuid.uuid4()
    # No binding of the queue to its exchange either: the message is put by queue name.
    redis.Redis.from_url(settings.REDIS_URL).delete(f"_kombu.binding.{QUEUE}")
    try:
        dispatch.enqueue(run_id)
        sent = [argument for _raw, argument in queued(dispatch.EXECUTE_RUN)]
        assert str(run_id) in sent
        assert declared == []
        # Pushed by dispatch itself (one LPUSH), not through Celery's producer.
        assert published == []
    finally:
        remove_queued(dispatch.EXECUTE_RUN)


def test_a_runs_message_pushed_directly_is_the_one_celery_sends() -> None:
    """dispatch.enqueue builds the message and LPUSHes it (runs/dispatch.py); it must stay
    what `app.send_task` puts into the queue, whatever Celery or kombu version is installed.
    As in a worker, the task is registered: send_task then writes its time limits."""
    assert dispatch.EXECUTE_RUN in app.tasks
    run_id = str(uuid.uuid4())
    try:
        dispatch.enqueue(uuid.UUID(run_id))
        app.send_task(dispatch.EXECUTE_RUN, args=[run_id], task_id=run_id, declare=[])
        # LPUSH puts the newer message first.
        sent, pushed = (
            json.loads(raw) for raw, argument in queued(dispatch.EXECUTE_RUN) if argument == run_id
        )
    finally:
        remove_queued(dispatch.EXECUTE_RUN)
    for message in (pushed, sent):
        # One per message, whoever sends it.
        assert uuid.UUID(message["properties"].pop("delivery_tag"))
        message["body"] = json.loads(base64.b64decode(message["body"]))
    assert pushed == sent
    assert pushed["headers"]["id"] == run_id and pushed["body"][0] == [run_id]
