"""The caller of the request being served: set once by the access middleware, read by the
handler dispatch and by the selectors that restrict what the caller sees."""

from __future__ import annotations

import contextvars
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


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("spindle_caller", default=None)


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
