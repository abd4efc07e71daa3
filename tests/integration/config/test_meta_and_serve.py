"""/ok, /info, unknown routes, and `manage.py serve` (what `make dev` runs) with no services."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_ok_and_root_answer_health(client: Client) -> None:
    from django.conf import settings
    from django.db import connection

    expected = {"postgres" if connection.vendor == "postgresql" else connection.vendor: "ok"}
    if settings.REDIS_URL:
        expected["redis"] = "ok"
    for path in ("/ok", "/"):
        response = client.get(path)
        assert (response.status_code, response.json()) == (200, {"ok": True, "services": expected})


@pytest.mark.django_db
def test_ok_names_redis_when_it_is_down(client: Client, settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    response = client.get("/ok")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["services"]["redis"] == "down"
    assert body["detail"].startswith("redis is down (")
    assert list(body["services"].values()).count("ok") == 1  # the database answered


def test_info_names_the_versions(client: Client) -> None:
    body = client.get("/info").json()
    assert body["version"] == "0.1.0"
    assert body["langgraph_py_version"]
    assert body["flags"]["assistants"] is True
    assert body["flags"]["crons"] is True
    assert body["host"]["kind"] == "self-hosted"


def test_unknown_route_answers_json_404(client: Client) -> None:
    response = client.get("/nope")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _embedded_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "PORT": str(port),
            "LANGGRAPH_CONFIG": str(ROOT / "langgraph.json"),
            "PYTHONPATH": str(ROOT),
        }
    )
    env["SPINDLE_DEV"] = "1"  # as `make dev` sets it
    return env


def test_serve_needs_no_database_or_broker(tmp_path: Path) -> None:
    port = _free_port()
    env = _embedded_env(tmp_path, port)
    manage = str(ROOT / "manage.py")
    subprocess.run(
        [sys.executable, manage, "migrate", "--no-input", "-v", "0"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
    )
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, manage, "serve"],
        cwd=tmp_path,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve never answered /ok"
                time.sleep(0.2)
        assert response.json() == {"ok": True, "services": {"sqlite": "ok", "redis": "ok"}}
        assert (tmp_path / "spindle.sqlite3").exists(), (
            "embedded mode uses SQLite in the working directory"
        )
        assistants = httpx.post(
            f"http://127.0.0.1:{port}/assistants/search", json={}, timeout=5
        ).json()
        assert {a["graph_id"] for a in assistants} == {"agent", "echo", "interruptible"}
        # serve writes its banner once /ok answers: on a busy machine, after the loop above.
        while "Spindle serving on" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = log.read_text()
    socket_path = Path(output.split("embedded Valkey ", 1)[1].split(" on ", 1)[1].split(" ", 1)[0])
    assert not socket_path.parent.exists(), "the embedded Redis and its folder are gone with serve"
    assert "Traceback" not in output


def test_serve_says_clearly_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "serve"],
            cwd=tmp_path,
            env=_embedded_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "PORT=" in result.stderr


def test_serve_stops_its_worker_and_sweeper_when_it_is_terminated(tmp_path: Path) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("the worker needs REDIS_URL")
    port = _free_port()
    env = {**_embedded_env(tmp_path, port), "REDIS_URL": redis_url}
    manage = str(ROOT / "manage.py")
    subprocess.run(
        [sys.executable, manage, "migrate", "--no-input", "-v", "0"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
    )
    proc = subprocess.Popen(
        [sys.executable, manage, "serve", "--concurrency", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pids: list[int] = []
    try:
        for line in proc.stdout:
            if "worker    Celery worker and beat" in line:
                pids = [int(p) for p in re.findall(r"pid (\d+)", line)]
                break
        assert len(pids) == 2, "serve names its worker's and its sweeper's pid"
        deadline = time.monotonic() + 60
        while True:  # serving: uvicorn has installed its signal handlers
            try:
                httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve never answered /ok"
                time.sleep(0.2)

        proc.terminate()
        proc.wait(timeout=30)

        deadline = time.monotonic() + 30
        for pid in pids:
            while _alive(pid):
                assert time.monotonic() < deadline, (
                    f"process {pid} (worker or sweeper) outlived serve"
                )
                time.sleep(0.2)
        assert proc.returncode == 128 + 15
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, 15)  # a warm shutdown takes the pool's children along
                time.sleep(5)
                if _alive(pid):
                    os.kill(pid, 9)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by its parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
