"""The webhook URL policy (SSRF): refused on the request that names it and again before
sending, unless SPINDLE_WEBHOOK_ALLOW_PRIVATE; no connection is ever made to a refused one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from assistants.services import assistant_ensure_defaults
from core.webhook_urls import WebhookRefused, webhook_url_check
from runs.models import Run
from threads.models import Thread
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import webhook_deliver

REPO_ROOT = Path(__file__).resolve().parents[3]

REFUSED = [
    "http://127.0.0.1:9/hook",
    "http://localhost:8000/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.5/hook",
    "http://172.16.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_loopback_addresses_are_refused_unless_allowed(settings, url: str) -> None:
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(WebhookRefused, match="blocked"):
        webhook_url_check(url)
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = True
    webhook_url_check(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http or https"),
        ("/threads", "http or https"),
        ("http:///x", "hostname"),
        ("http://example.com:99999/x", "port"),
        ("https://x/" + "a" * 5000, "too long"),
    ],
)
def test_malformed_webhook_urls_are_refused(settings, url: str, message: str) -> None:
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(WebhookRefused, match=message):
        webhook_url_check(url)


def test_a_public_address_passes_without_any_connection(settings) -> None:
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = False
    webhook_url_check("https://93.184.216.34/hook")


@pytest.mark.django_db(transaction=True)
def test_a_run_with_a_private_webhook_is_refused_and_nothing_written(settings, row_counts) -> None:
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = False
    settings.LANGGRAPH_CONFIG = str(REPO_ROOT / "langgraph.json")
    assistant_ensure_defaults()
    thread = Thread.objects.create()
    before = row_counts()
    api = APIClient()
    response = api.post(
        f"/threads/{thread.pk}/runs",
        {"assistant_id": "echo", "webhook": "http://127.0.0.1:9/hook"},
        format="json",
    )
    assert response.status_code == 422
    assert "Webhook host blocked" in response.json()["detail"]
    response = api.post(
        "/runs/crons",
        {"assistant_id": "echo", "schedule": "* * * * *", "webhook": "http://10.0.0.1/"},
        format="json",
    )
    assert response.status_code == 422 and "blocked" in response.json()["detail"]
    assert row_counts() == before


@pytest.mark.django_db
def test_a_delivery_to_a_refused_address_fails_without_sending(settings) -> None:
    settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE = False
    delivery = WebhookDelivery.objects.create(
        run_id=Run().run_id, url="http://10.0.0.1/hook", payload={"x": 1}
    )
    assert webhook_deliver(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "blocked" in delivery.last_error
    # Settled: a second message does nothing.
    assert webhook_deliver(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.attempts == 1
