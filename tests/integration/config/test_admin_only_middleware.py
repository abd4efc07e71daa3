"""The admin keeps its sessions, CSRF and messages; the API runs without them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient, Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_responses_carry_no_session_or_csrf_machinery() -> None:
    response = Client().get("/ok")
    assert response.status_code == 200
    assert not response.cookies
    assert "Vary" not in response.headers
    assert "Cross-Origin-Opener-Policy" not in response.headers  # SecurityMiddleware did not run


def test_admin_login_page_sets_the_csrf_cookie_sync_and_async() -> None:
    assert "csrftoken" in Client().get("/admin/login/").cookies


async def test_admin_login_page_sets_the_csrf_cookie_under_asgi() -> None:
    response = await AsyncClient().get("/admin/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_admin_refuses_a_post_without_csrf_token() -> None:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "admin", "password": "pw"})
    assert response.status_code == 403


def test_admin_session_login_works() -> None:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    token = client.get("/admin/login/").cookies["csrftoken"].value
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "pw", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
