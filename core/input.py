"""The input gate's checks: every API request's host, path, query parameters, headers and
JSON body are checked once, by config.middleware.InputGateMiddleware, before a view sees
them; the limits are in docs/behaviour.md."""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from core.errors import BadHost, InvalidInput, UnsupportedMediaType, preview

# JSON objects and arrays nested deeper than this are refused. LangGraph inputs, states and
# filters nest a handful of levels; Python's recursion (the serializers, the JSON encoders,
# Django's lookups) must never get near its limit.
MAX_DEPTH = 100
# Integers are stored and compared as PostgreSQL bigint, and LangGraph's checkpoint format
# (msgpack) holds 64 bits: anything outside that range is refused wherever it appears.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Offsets and other counts in query strings and bodies (serializers use these bounds).
MAX_OFFSET = 2**31 - 1
# Ids, graph and node names, checkpoint ids: every identifier a client names.
MAX_ID_LENGTH = 256
MAX_QUERY_VALUE_LENGTH = 2048
MAX_QUERY_PARAMS = 100
MAX_HEADER_VALUE_LENGTH = 8192
MAX_PATH_LENGTH = 2048

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"
# Set on the request by the gate: the parsed JSON body, or NO_BODY.
BODY_ATTRIBUTE = "json_body"
NO_BODY: Any = object()

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str, *, max_length: int | None = None) -> str | None:
    """Why a string cannot be taken (NUL, lone surrogate, too long), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length} characters"
    if _SURROGATE.search(value):
        return "must not contain lone UTF-16 surrogates"
    return None


def check_text(value: str, where: str, *, max_length: int | None = None) -> str:
    """`value` if it can be taken; InvalidInput naming `where` otherwise."""
    problem = text_problem(value, max_length=max_length)
    if problem:
        raise InvalidInput(f"{where}: {problem}")
    return value


def _location(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{preview(part)}" if out else preview(part))
        )
    return out or "body"


def check_json(value: Any, path: list[str | int] | None = None) -> None:
    """Refuse, naming where, what no column or encoder downstream can hold: NUL characters,
    lone surrogates, integers beyond 64 bits, nesting deeper than MAX_DEPTH. Iterative, so
    it cannot itself run out of stack."""
    stack: list[tuple[Any, list[str | int]]] = [(value, path or [])]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise InvalidInput(f"{_location(where)}: {problem}")
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise InvalidInput(
                    f"{_location(where)}: integer out of range (must fit in 64 bits)"
                )
        elif isinstance(item, dict | list):
            if len(where) >= MAX_DEPTH:
                raise InvalidInput(f"{_location(where[:3])}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = text_problem(key)
                    if problem:
                        raise InvalidInput(f"{_location([*where, key])}: key {problem}")
                    stack.append((child, [*where, key]))
            else:
                stack.extend((child, [*where, index]) for index, child in enumerate(item))


def load_json(raw: bytes) -> Any:
    """A request body parsed as strict JSON and checked; InvalidInput otherwise."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses NaN, infinities, lone surrogates, invalid UTF-8, and nesting past
        # 1024 levels itself; say which when it is one of those.
        reason = str(exc)
        if "depth" in reason:
            raise InvalidInput(f"body: nested deeper than {MAX_DEPTH} levels") from None
        if "surrogate" in reason:
            raise InvalidInput("body: must not contain lone UTF-16 surrogates") from None
        raise InvalidInput("Invalid JSON in request body") from None
    check_json(value)
    return value


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_MEDIA_TYPE


def check_host(request: HttpRequest) -> None:
    """The Host header must name this server (ALLOWED_HOSTS): no DNS rebinding."""
    try:
        request.get_host()
    except DisallowedHost:
        raise BadHost() from None


def check_request(request: HttpRequest) -> None:
    """Every check of the gate, in order; raises the error to answer with."""
    check_host(request)
    check_text(request.path, "path", max_length=MAX_PATH_LENGTH)
    if len(request.GET) > MAX_QUERY_PARAMS:
        raise InvalidInput(f"query: at most {MAX_QUERY_PARAMS} parameters")
    for name, values in request.GET.lists():
        where = f"query parameter {preview(name)!r}"
        check_text(name, where, max_length=MAX_ID_LENGTH)
        for value in values:
            check_text(value, where, max_length=MAX_QUERY_VALUE_LENGTH)
    for name, value in request.headers.items():
        check_text(value, f"header {preview(name)!r}", max_length=MAX_HEADER_VALUE_LENGTH)
    body: Any = NO_BODY
    if request.method in BODY_METHODS:
        content_type = request.headers.get("Content-Type")
        raw = request.body
        if content_type is not None and not _is_json(content_type):
            # A web page can post a form (or text/plain) to any site without a preflight:
            # refusing every body that is not declared JSON stops such cross-site requests.
            raise UnsupportedMediaType()
        if raw:
            if content_type is None:
                raise UnsupportedMediaType()
            body = load_json(raw)
    setattr(request, BODY_ATTRIBUTE, body)


def request_json(request: HttpRequest) -> Any:
    """The body the gate parsed (NO_BODY when there was none)."""
    if not hasattr(request, BODY_ATTRIBUTE):  # a view called without the middleware
        check_request(request)
    return getattr(request, BODY_ATTRIBUTE)
