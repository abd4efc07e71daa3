"""The authenticated user as langgraph_sdk's handlers see it, and what an authenticate
handler may return (a str identity, a dict, or an object with `identity`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class AuthUser(Mapping[str, Any]):
    """What the official server's ProxyUser offers: `identity`, `display_name`,
    `is_authenticated` and `permissions` as attributes and as keys, and every other
    attribute of the object the handler returned."""

    def __init__(self, source: Any, permissions: Sequence[str] | None = None) -> None:
        self._source = source
        self._permissions = None if permissions is None else [str(p) for p in permissions]

    @property
    def identity(self) -> str:
        return str(_field(self._source, "identity"))

    @property
    def display_name(self) -> str:
        name = _field(self._source, "display_name", None)
        return str(name) if name is not None else self.identity

    @property
    def is_authenticated(self) -> bool:
        return bool(_field(self._source, "is_authenticated", True))

    @property
    def permissions(self) -> list[str]:
        if self._permissions is not None:
            return list(self._permissions)
        return [str(p) for p in _field(self._source, "permissions", None) or []]

    def dict(self) -> dict[str, Any]:
        """The JSON form a run carries to its graph."""
        extra = dict(self._source) if isinstance(self._source, Mapping) else {}
        if not extra and callable(getattr(self._source, "dict", None)):
            extra = dict(self._source.dict())
        return {
            **extra,
            "identity": self.identity,
            "display_name": self.display_name,
            "is_authenticated": self.is_authenticated,
            "permissions": self.permissions,
        }

    def __getattr__(self, name: str) -> Any:
        return _field(self._source, name)

    def __getitem__(self, key: str) -> Any:
        return self.dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.dict())

    def __len__(self) -> int:
        return len(self.dict())

    def __repr__(self) -> str:
        return f"AuthUser({self.identity!r})"


_MISSING = object()


def _field(source: Any, name: str, default: Any = _MISSING) -> Any:
    if isinstance(source, Mapping):
        if name in source:
            return source[name]
    elif hasattr(source, name):
        return getattr(source, name)
    if default is _MISSING:
        raise AttributeError(name)
    return default


def normalize_user(result: Any) -> tuple[AuthUser, list[str]]:
    """The user and permissions an authenticate handler's result stands for, as the
    official server reads it: `(permissions, user)`, a str identity, a dict or an object
    with `identity` (and optionally `permissions`). ValueError otherwise."""
    permissions: Sequence[str] | None = None
    if isinstance(result, tuple):
        if len(result) != 2:
            raise ValueError(f"Expected a tuple (permissions, user), got {len(result)} elements")
        permissions, result = result
    if isinstance(result, str):
        result = {"identity": result}
    if isinstance(result, Mapping):
        if "identity" not in result:
            raise ValueError("The user must have an identity")
    elif not hasattr(result, "identity"):
        raise ValueError(
            f"Expected a user with an identity (str, dict or object), got {type(result).__name__}"
        )
    user = AuthUser(result, permissions)
    return user, user.permissions
