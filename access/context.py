"""The caller of the request being served: set once by the access middleware, read by the
handler dispatch and by the selectors that restrict what the caller sees."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from access.users import AuthUser

FilterType = dict[str, Any]


@dataclass
class Caller:
    """An authenticated user and the filters the auth handlers returned so far in this
    request, by resource ("threads", "assistants", "crons", "store")."""

    user: AuthUser
    permissions: list[str]
    filters: dict[str, FilterType] = field(default_factory=dict)


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "spindle_caller", default=None
)


def current_caller() -> Caller | None:
    """The caller of this request; None without custom auth, and outside requests (the
    worker, the admin, commands), where nothing is filtered."""
    return _caller.get()


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _caller.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _caller.reset(token)


def current_filter(resource: str) -> FilterType | None:
    caller = _caller.get()
    return None if caller is None else caller.filters.get(resource)


# Where the official server puts the caller in a run's config.configurable for the graph.
AUTH_CONFIG_KEYS = ("langgraph_auth_user", "langgraph_auth_user_id", "langgraph_auth_permissions")


def config_with_caller(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A run's (or cron's) `config` with the request's caller in its configurable, as the
    official server passes it to the graph; a client never sets those keys itself. The
    run stores it, so the worker (and each firing of a cron) passes the creator on."""
    caller = _caller.get()
    configurable = dict((config or {}).get("configurable") or {})
    forged = [key for key in AUTH_CONFIG_KEYS if key in configurable]
    if caller is None and not forged:
        return dict(config) if config is not None else None
    for key in forged:
        del configurable[key]
    if caller is not None:
        configurable["langgraph_auth_user"] = caller.user.dict()
        configurable["langgraph_auth_user_id"] = caller.user.identity
        configurable["langgraph_auth_permissions"] = list(caller.permissions)
    return {**(config or {}), "configurable": configurable}
