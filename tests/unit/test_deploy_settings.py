"""Cross-site and deployment defaults: the development key refused by servers, loopback
host names by default, and a production configuration that `check --deploy` passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ENV_NAMES = {
    "SECRET_KEY",
    "DEBUG",
    "SPINDLE_DEV",
    "ALLOWED_HOSTS",
    "HOST",
    "DATABASE_URL",
    "REDIS_URL",
}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3Yq9v2Lr8Xw1Tn6Zp4Hs7Jd0Fb5Mc3Gx8Vu2Qe6Ra9Wy1Ko4Ni7Pl0Sh5Dj3Bf",
    "ALLOWED_HOSTS": "spindle.example.com",
    "SPINDLE_HTTPS": "1",
}


def run(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVER_ENV_NAMES and not k.startswith("PYTEST")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


@pytest.mark.parametrize("entry", ["import config.asgi", "import config.wsgi"])
def test_a_server_refuses_the_development_key_in_one_line(tmp_path: Path, entry: str) -> None:
    result = run(entry, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "SECRET_KEY is Spindle's development key: set SECRET_KEY to a long random secret "
        "(DEBUG=1 or SPINDLE_DEV=1, which `make dev` sets, allow it for development)"
    ]


@pytest.mark.parametrize(
    "env", [{"SPINDLE_DEV": "1"}, {"DEBUG": "1"}, {"SECRET_KEY": PRODUCTION["SECRET_KEY"]}]
)
def test_the_development_key_is_allowed_for_development_and_another_key_anywhere(
    tmp_path: Path, env: dict[str, str]
) -> None:
    result = run("import config.wsgi; print('up')", tmp_path, **env)
    assert (result.returncode, result.stdout.strip()) == (0, "up"), result.stderr[-2000:]


@pytest.mark.parametrize(
    ("env", "hosts"),
    [
        ({}, ["localhost", "127.0.0.1", "[::1]"]),
        ({"HOST": "::1"}, ["localhost", "127.0.0.1", "[::1]"]),
        ({"HOST": "0.0.0.0"}, ["*"]),
        ({"HOST": "0.0.0.0", "ALLOWED_HOSTS": "a.example, b.example"}, ["a.example", "b.example"]),
    ],
)
def test_allowed_hosts_default_to_loopback_names_when_serving_on_loopback(
    tmp_path: Path, env: dict[str, str], hosts: list[str]
) -> None:
    result = run("from django.conf import settings; print(settings.ALLOWED_HOSTS)", tmp_path, **env)
    assert result.stdout.strip() == repr(hosts), result.stderr[-2000:]


def test_check_deploy_is_clean_for_the_documented_production_configuration(tmp_path: Path) -> None:
    code = (
        "import django, sys; django.setup(); from django.core.management import call_command;"
        " call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = run(code, tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run(code, tmp_path, **{**PRODUCTION, "SPINDLE_HTTPS": "0"})
    assert result.returncode != 0 and "SESSION_COOKIE_SECURE" in result.stderr
