"""`manage.py serve` on PostgreSQL: the web process stays within its pool however many admin
and API requests it serves, and /ok says when PostgreSQL is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from tests.e2e.stack import ROOT, drop_database, free_port, fresh_database

pytestmark = pytest.mark.e2e

POOL_SIZE = 4
PASSWORD = "a-long-test-password"


def _connections(db_url: str) -> int:
    """Connections to the test database, counted from another database (not counting this one)."""
    parts = urlsplit(db_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        return conn.execute(
            "select count(*) from pg_stat_activity where datname = %s", (parts.path.lstrip("/"),)
        ).fetchone()[0]


def _login(http: httpx.Client) -> None:
    http.get("/admin/login/")
    response = http.post(
        "/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"referer": f"{http.base_url}/admin/login/"},
    )
    assert response.status_code == 302 and response.headers["location"] == "/admin/", response.text[
        :500
    ]


def test_300_admin_and_api_requests_stay_within_the_web_pool(
    redis_url: str, tmp_path: Path
) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    db_url = fresh_database(f"spindle_conn_{os.getpid()}")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "SPINDLE_DB_POOL"
    }
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "SPINDLE_DB_POOL_SIZE": str(POOL_SIZE),
            "LANGGRAPH_CONFIG": str(ROOT / "langgraph.json"),
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
            "SPINDLE_DEV": "1",  # the development SECRET_KEY, as under `make dev`
        }
    )
    manage = str(ROOT / "manage.py")
    subprocess.run(
        [
            sys.executable,
            manage,
            "createsuperuser",
            "--no-input",
            "--username",
            "admin",
            "--email",
            "a@example.com",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, manage, "serve", "--no-worker", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "Spindle serving on" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert f"web pool of at most {POOL_SIZE}" in log.read_text()

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            _login(http)
            threads = [
                http.post("/threads", json={"metadata": {"n": i}}).json()["thread_id"]
                for i in range(5)
            ]
            paths = [
                ("GET", "/admin/"),
                ("GET", "/admin/runs/run/"),
                ("GET", "/admin/threads/thread/"),
                ("GET", "/admin/assistants/assistant/"),
                ("GET", f"/admin/threads/thread/{threads[0]}/change/"),
                ("POST", "/threads/search"),
                ("POST", "/assistants/search"),
                ("GET", f"/threads/{threads[1]}"),
                ("GET", f"/threads/{threads[2]}/state"),
                ("GET", f"/threads/{threads[3]}/runs"),
            ]
            cookies = dict(http.cookies)

        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _connections(db_url))
                time.sleep(0.05)

        def request(i: int) -> int:
            method, path = paths[i % len(paths)]
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", cookies=cookies, timeout=60
            ) as one:
                return one.request(method, path, json={} if method == "POST" else None).status_code

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with ThreadPoolExecutor(max_workers=12) as pool:
                statuses = list(pool.map(request, range(300)))
        finally:
            done.set()
            sampler.join()
        assert statuses == [200] * 300
        after = _connections(db_url)
        assert 1 <= peak <= POOL_SIZE, (
            f"{peak} connections at the peak, the pool allows {POOL_SIZE}"
        )
        assert after <= POOL_SIZE

        # PostgreSQL loses the database: /ok names it (503) instead of answering ok.
        drop_database(db_url)
        response = httpx.get(f"http://127.0.0.1:{port}/ok", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert body["services"] == {"postgres": "down", "redis": "ok"}
        assert body["detail"].startswith("postgres is down")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        drop_database(db_url)
