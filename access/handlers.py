"""The application's langgraph_sdk Auth object (langgraph.json "auth.path"): loading it, its
@auth.authenticate handler, and the dispatch of @auth.on handlers, as the official server
runs them."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from langgraph_sdk import Auth

from access.context import Caller, FilterType, current_caller
from access.users import normalize_user
from core.errors import SpindleError

logger = logging.getLogger(__name__)

# The parameters an authenticate handler may declare, injected by name (the official set
# less `scope`, `scopes`, `user` and `path_params`, which belong to Starlette).
AUTHENTICATE_PARAMETERS = frozenset(
    {"request", "body", "path", "method", "query_params", "headers", "authorization"}
)


class Denied(SpindleError):
    """An auth handler refused: the status and detail it chose (401 or 403 by default)."""

    status_code = 403
    default_detail = "Forbidden"

    def __init__(self, detail: str | None = None, status_code: int | None = None) -> None:
        super().__init__(detail)
        if status_code is not None:
            self.status_code = status_code


@functools.lru_cache(maxsize=1)
def auth_object() -> Auth | None:
    """The Auth instance langgraph.json names, imported once per process; None without one."""
    path = settings.SPINDLE_AUTH_PATH
    if path is None:
        return None
    module_name, attribute = path.rsplit(":", 1)
    try:
        if module_name.endswith(".py") or "/" in module_name:
            name = f"spindle_auth_{abs(hash(module_name))}"
            spec = importlib.util.spec_from_file_location(name, module_name)
            if spec is None or spec.loader is None:
                raise ImportError(f"no loader for {module_name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:
        raise ImproperlyConfigured(
            f'langgraph.json "auth.path": importing {module_name} failed: {exc!r}'
        ) from exc
    auth = getattr(module, attribute, None)
    if not isinstance(auth, Auth):
        raise ImproperlyConfigured(
            f'langgraph.json "auth.path": {path} must name a langgraph_sdk.Auth instance, got {type(auth).__name__}'
        )
    if auth._authenticate_handler is None:
        raise ImproperlyConfigured(
            f'langgraph.json "auth.path": {path} has no @auth.authenticate handler'
        )
    _parameters(auth._authenticate_handler)
    return auth


@functools.lru_cache(maxsize=8)
def _parameters(handler: Callable[..., Any]) -> frozenset[str]:
    names = set()
    for name, parameter in inspect.signature(handler).parameters.items():
        if name in AUTHENTICATE_PARAMETERS:
            names.add(name)
        elif parameter.default is parameter.empty:
            raise ImproperlyConfigured(
                f"The authenticate handler asks for {name!r}; it may ask for: {', '.join(sorted(AUTHENTICATE_PARAMETERS))}"
            )
    return frozenset(names)


async def authenticate(request: HttpRequest) -> Caller:
    """The caller this request stands for, as the application's authenticate handler says;
    Denied (401 unless the handler raised another status) otherwise."""
    auth = auth_object()
    assert auth is not None and auth._authenticate_handler is not None
    handler = auth._authenticate_handler
    wanted = _parameters(handler)
    arguments: dict[str, Any] = {}
    if "request" in wanted:
        arguments["request"] = request
    if "body" in wanted:
        arguments["body"] = request.body
    if "path" in wanted:
        arguments["path"] = request.path
    if "method" in wanted:
        arguments["method"] = request.method
    if "query_params" in wanted:
        arguments["query_params"] = {key: request.GET.get(key) for key in request.GET}
    if "headers" in wanted:
        arguments["headers"] = {
            key.lower().encode(): value.encode() for key, value in request.headers.items()
        }
    if "authorization" in wanted:
        arguments["authorization"] = request.headers.get("authorization")
    result: Any
    try:
        if inspect.iscoroutinefunction(handler):
            result = await handler(**arguments)
        else:
            result = await sync_to_async(handler, thread_sensitive=False)(**arguments)
        user, permissions = normalize_user(result)
    except Auth.exceptions.HTTPException as exc:
        raise Denied(str(exc.detail), status_code=exc.status_code) from None
    except Exception as exc:
        # Only the type: the message may quote the credentials it failed on.
        logger.warning("The authenticate handler raised %s: answered 401", type(exc).__name__)
        raise Denied("Unauthorized", status_code=401) from None
    return Caller(user=user, permissions=permissions)


def _handler(auth: Auth, resource: str, action: str) -> Callable[..., Any] | None:
    """The most specific handler: (resource, action), (resource, *), (*, action), (*, *),
    then the global @auth.on; the last one registered wins."""
    for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
        if key in auth._handlers:
            return auth._handlers[key][-1]
    return auth._global_handlers[-1] if auth._global_handlers else None


async def authorize(
    resource: str, action: str, value: dict[str, Any], *, remember: bool = True
) -> FilterType | None:
    """Run the application's handler for (resource, action) on `value`, which it may change
    (metadata it adds is stored); remember the filter it returns for this request's
    selectors and return it. False means 403; without custom auth this does nothing.

    Call it before opening a transaction: the handler may wait on anything. With
    remember=False the filter only answers (a copy's "create" check must not replace the
    "read" filter of the thread it copies)."""
    caller = current_caller()
    auth = auth_object()
    if caller is None or auth is None:
        return None
    handler = _handler(auth, resource, action)
    if handler is None:
        return None
    context = Auth.types.AuthContext(
        user=caller.user,
        permissions=caller.permissions,
        resource=resource,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
    )
    try:
        if inspect.iscoroutinefunction(handler):
            result = await handler(ctx=context, value=value)
        else:
            result = await sync_to_async(handler, thread_sensitive=False)(ctx=context, value=value)
    except Auth.exceptions.HTTPException as exc:
        raise Denied(str(exc.detail), status_code=exc.status_code) from None
    except AssertionError as exc:
        raise Denied(str(exc) or "Forbidden") from None
    if result is None or result is True:
        return None
    if result is False:
        raise Denied("Forbidden")
    if not isinstance(result, Mapping):
        raise Denied(
            f"The auth handler returned {type(result).__name__}: expected a filter dict, None or a boolean",
            status_code=500,
        )
    if remember:
        caller.filters[resource] = dict(result)
    return dict(result)
