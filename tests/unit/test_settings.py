"""Settings fail loudly, naming the variable, on malformed values."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_int, env_redis_url


def test_no_database_url_means_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = env_database("DATABASE_URL", "/tmp/x.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/tmp/x.sqlite3"


def test_postgres_url_means_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5433/spin")
    config = env_database("DATABASE_URL", "/tmp/x.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "spin")


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("DATABASE_URL", "mysql://x/y", lambda: env_database("DATABASE_URL", "x")),
        ("DATABASE_URL", "not a url", lambda: env_database("DATABASE_URL", "x")),
        ("REDIS_URL", "http://localhost", lambda: env_redis_url("REDIS_URL")),
        ("REDIS_URL", "redis://localhost:notaport/0", lambda: env_redis_url("REDIS_URL")),
        ("SPINDLE_X", "twelve", lambda: env_int("SPINDLE_X", 1)),
        ("SPINDLE_X", "maybe", lambda: env_bool("SPINDLE_X", True)),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reader
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader()


def test_start_up_fails_with_the_variable_named() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": "http://nope"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


@pytest.mark.parametrize(("prepare", "threshold"), [(None, "5"), ("0", "None"), ("1", "5")])
def test_postgres_binds_server_side_and_prepares_unless_told_not_to(
    prepare: str | None, threshold: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://u:p@db.example:5432/spin"}
    if prepare is not None:
        env["SPINDLE_DB_PREPARE"] = prepare
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
                "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS'];"
                "print(o['server_side_binding'], o['prepare_threshold'])"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", threshold]
