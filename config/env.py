"""Typed readers for environment variables that fail loudly on malformed values."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_database(name: str, default_sqlite_path: str) -> dict:
    """Parse a database URL; no value means SQLite at `default_sqlite_path`."""
    import dj_database_url

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": default_sqlite_path,
            "OPTIONS": sqlite_options(),
        }
    scheme = urlparse(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}={_redact(raw)!r} is not supported: use postgres://user@host:port/db or sqlite:///path"
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(raw, conn_max_age=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} is malformed: {exc}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} names no database")
    if scheme == "sqlite":
        config["OPTIONS"] = {**sqlite_options(), **config.get("OPTIONS", {})}
    return config


def sqlite_options() -> dict:
    """The web process and the worker's processes all write one SQLite file: WAL lets
    readers go on while one writes, IMMEDIATE transactions take the write lock at BEGIN
    (no deadlock between two readers that both want to write), and a writer waits up to
    20 s for the lock instead of failing at once ("database is locked")."""
    return {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }


def env_redis_url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} is not a redis:// URL")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} has a malformed port") from None
    if parsed.scheme != "unix" and not parsed.hostname:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} names no host")
    return raw


def broker_url(redis_url: str) -> str:
    """The Celery broker URL of a Redis URL: kombu spells a Unix socket redis+socket://."""
    parsed = urlparse(redis_url)
    if parsed.scheme != "unix":
        return redis_url
    db = parse_qs(parsed.query).get("db", ["0"])[0]
    return f"redis+socket://{parsed.path}?virtual_host={db}"


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def is_loopback(host: str) -> bool:
    """Whether a listening address only serves this machine."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
