"""config/broker.py: Celery's messages go through kombu's Redis transport with one Redis
client per channel, made again only when the channel's connection pool is."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Producer

from config.broker import Channel
from config.celery import app
from runs import dispatch
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
    monkeypatch.setattr(
        Producer, "maybe_declare", lambda self, entity, **kw: declared.append(entity)
    )
    run_id = uuid.uuid4()
    # No binding of the queue to its exchange either: the message is put by queue name.
    redis.Redis.from_url(settings.REDIS_URL).delete(f"_kombu.binding.{QUEUE}")
    try:
        dispatch.enqueue(run_id)
        sent = [argument for _raw, argument in queued(dispatch.EXECUTE_RUN)]
        assert str(run_id) in sent
        assert declared == []
    finally:
        remove_queued(dispatch.EXECUTE_RUN)
