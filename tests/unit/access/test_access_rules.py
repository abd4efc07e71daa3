"""The access rules on their own: auth.path resolution, API key comparison, what an
authenticate handler may return, handler precedence, and filters Spindle refuses (the
queries they become: tests/integration/access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from langgraph_sdk import Auth

from access.context import Caller, config_with_caller, reset_caller, set_caller
from access.filters import BadFilter, filter_q
from access.handlers import _handler
from access.middleware import api_key_valid
from access.users import normalize_user
from config.project import auth_path


def test_auth_path_is_resolved_against_the_folder_of_langgraph_json(tmp_path: Path) -> None:
    where = str(tmp_path / "langgraph.json")
    assert auth_path({"auth": {"path": "./auth.py:auth"}}, where) == f"{tmp_path / 'auth.py'}:auth"
    assert auth_path({"auth": {"path": "my_pkg.auth:auth"}}, where) == "my_pkg.auth:auth"
    assert auth_path({}, where) is None
    assert auth_path({"auth": {}}, where) is None


@pytest.mark.parametrize("auth", [{"path": "./auth.py"}, {"path": 3}, "./auth.py:auth"])
def test_a_malformed_auth_block_stops_start_up(auth: Any, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="auth"):
        auth_path({"auth": auth}, str(tmp_path / "langgraph.json"))


@override_settings(SPINDLE_API_KEYS=["first-key", "second-key"])
def test_api_keys_match_exactly_any_configured_key() -> None:
    assert api_key_valid("first-key")
    assert api_key_valid("second-key")
    for wrong in (None, "", "first-ke", "first-key ", "FIRST-KEY", "second-keyx"):
        assert not api_key_valid(wrong)


def test_an_authenticate_result_may_be_a_string_a_dict_an_object_or_a_pair() -> None:
    user, permissions = normalize_user("alice")
    assert (user.identity, user.display_name, user.is_authenticated, permissions) == (
        "alice",
        "alice",
        True,
        [],
    )
    user, permissions = normalize_user(
        {"identity": "bob", "display_name": "Bob", "permissions": ["p"], "org": "o"}
    )
    assert (user.identity, user.display_name, permissions, user["org"], user.org) == (
        "bob",
        "Bob",
        ["p"],
        "o",
        "o",
    )
    assert user.dict() == {
        "identity": "bob",
        "display_name": "Bob",
        "is_authenticated": True,
        "permissions": ["p"],
        "org": "o",
    }

    class Person:
        identity = "carol"
        is_authenticated = False

    user, permissions = normalize_user((["read"], Person()))
    assert (user.identity, user.is_authenticated, permissions, user.permissions) == (
        "carol",
        False,
        ["read"],
        ["read"],
    )
    for bad in ({"name": "x"}, 42, ("a", "b", "c")):
        with pytest.raises(ValueError):
            normalize_user(bad)


def test_the_most_specific_handler_wins() -> None:
    auth = Auth()

    @auth.on
    async def everything(ctx: Any, value: Any) -> str:
        return "global"

    @auth.on.threads
    async def threads(ctx: Any, value: Any) -> str:
        return "threads"

    @auth.on.threads.create
    async def create(ctx: Any, value: Any) -> str:
        return "create"

    @auth.on(actions="delete")
    async def deleting(ctx: Any, value: Any) -> str:
        return "delete"

    assert _handler(auth, "threads", "create") is create
    assert _handler(auth, "threads", "read") is threads
    assert _handler(auth, "assistants", "read") is everything
    assert _handler(auth, "assistants", "delete") is deleting
    assert _handler(auth, "threads", "delete") is threads


def test_a_client_cannot_put_a_user_into_a_runs_config_and_the_caller_is_put_there() -> None:
    forged = {"tags": ["t"], "configurable": {"langgraph_auth_user_id": "admin", "x": 1}}
    assert config_with_caller(forged) == {"tags": ["t"], "configurable": {"x": 1}}
    assert config_with_caller(None) is None
    user, permissions = normalize_user({"identity": "dana", "permissions": ["w"]})
    token = set_caller(Caller(user=user, permissions=permissions))
    try:
        stamped = config_with_caller(forged)
    finally:
        reset_caller(token)
    assert stamped is not None
    assert stamped["configurable"]["langgraph_auth_user_id"] == "dana"
    assert stamped["configurable"]["langgraph_auth_permissions"] == ["w"]
    assert stamped["configurable"]["langgraph_auth_user"]["identity"] == "dana"
    assert stamped["configurable"]["x"] == 1


@pytest.mark.parametrize(
    "filters",
    [
        {"k": {"$gt": 1}},
        {"k": {"$eq": 1, "$contains": 1}},
        {"$or": [{"a": 1}]},
        {"$or": {"a": 1}},
        {"$or": [{"$or": [{"$or": [{"a": 1}, {"a": 2}]}, {"a": 3}]}, {"a": 4}]},
    ],
)
def test_a_filter_spindle_cannot_apply_is_the_handlers_bug_named_as_such(
    filters: dict[str, Any],
) -> None:
    with pytest.raises(BadFilter, match="auth handler"):
        filter_q(filters)
