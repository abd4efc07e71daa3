"""Startup problems end `manage.py serve` (and uvicorn) with one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MANAGE = str(ROOT / "manage.py")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith("PYTEST")
    }
    env.update(
        {"PYTHONPATH": str(ROOT), "LANGGRAPH_CONFIG": str(tmp_path / "langgraph.json"), **extra}
    )
    env.setdefault("SPINDLE_DEV", "1")  # the development SECRET_KEY, as under `make dev`
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _project(tmp_path: Path, graphs: dict, **document: object) -> None:
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": graphs, **document}))
    (tmp_path / "good.py").write_text((ROOT / "examples" / "echo.py").read_text())
    (tmp_path / "broken.py").write_text("import a_module_that_does_not_exist\n")


def _migrate(tmp_path: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, MANAGE, "migrate", "--no-input", "-v", "0"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
    )


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, MANAGE, "serve", "--port", str(_free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_graph_that_fails_to_import_ends_serve_in_one_line(tmp_path: Path) -> None:
    _project(tmp_path, {"good": "./good.py:graph", "broken": "./broken.py:graph"})
    env = _env(tmp_path)
    _migrate(tmp_path, env)
    result = _serve(tmp_path, env)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Spindle cannot start:")]
    assert len(errors) == 1
    assert "Graph 'broken'" in errors[0] and "a_module_that_does_not_exist" in errors[0]
    assert "Spindle serving on" not in output


def test_uvicorn_alone_ends_in_one_line_too(tmp_path: Path) -> None:
    _project(tmp_path, {"broken": "./broken.py:graph"})
    env = _env(tmp_path)
    _migrate(tmp_path, env)
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(_free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Spindle cannot start: Graph 'broken'" in result.stderr


def test_importing_the_asgi_module_writes_no_assistants_and_ensure_assistants_does(
    tmp_path: Path,
) -> None:
    import sqlite3

    _project(tmp_path, {"good": "./good.py:graph"})
    env = _env(tmp_path)  # the embedded SQLite database, in tmp_path
    _migrate(tmp_path, env)

    def assistants() -> list[str]:
        with sqlite3.connect(tmp_path / "spindle.sqlite3") as db:
            return [row[0] for row in db.execute("SELECT graph_id FROM assistants_assistant")]

    subprocess.run(
        [sys.executable, "-c", "import config.asgi"], cwd=tmp_path, env=env, check=True, timeout=120
    )
    assert assistants() == []
    subprocess.run(
        [sys.executable, MANAGE, "ensure_assistants"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
    )
    assert assistants() == ["good"]


@pytest.mark.parametrize(
    ("extra", "document", "message"),
    [
        (
            {"SPINDLE_HEARTBEAT_SECONDS": "soon"},
            {},
            "SPINDLE_HEARTBEAT_SECONDS='soon' is not a number",
        ),
        ({"DATABASE_URL": "mysql://x/y"}, {}, "DATABASE_URL='mysql://x/y' is not supported"),
        (
            {},
            {"http": {"cors": {"allow_origins": "https://a.example"}}},
            '"http.cors.allow_origins" must be a list of strings',
        ),
    ],
)
def test_a_malformed_setting_ends_serve_in_one_line(
    tmp_path: Path, extra: dict, document: dict, message: str
) -> None:
    _project(tmp_path, {"good": "./good.py:graph"}, **document)
    result = _serve(tmp_path, _env(tmp_path, **extra))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Spindle cannot start: {result.stderr.split(': ', 1)[1].strip()}"
    ]
    assert message in result.stderr


def test_an_unmigrated_database_ends_serve_in_one_line(tmp_path: Path) -> None:
    _project(tmp_path, {"good": "./good.py:graph"})
    result = _serve(tmp_path, _env(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip().splitlines()[0]]
        and "The database is not migrated" in result.stderr
        and "manage.py migrate" in result.stderr
    )
