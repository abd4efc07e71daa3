"""Domain errors and the one JSON error shape: {"detail": "<message>"}."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# How much of a client's value an error message may quote, and how long a message may be.
PREVIEW_LENGTH = 32
MAX_DETAIL_LENGTH = 1000
_LONG_WORD = re.compile(rf"\S{{{2 * PREVIEW_LENGTH + 1},}}")


def preview(value: str) -> str:
    """A client's value as an error message may quote it: a short prefix."""
    return value if len(value) <= PREVIEW_LENGTH else value[:PREVIEW_LENGTH] + "…"


def bounded(text: str) -> str:
    """An error message that quotes at most a short prefix of any value it holds: a word
    longer than any of ours (or an id) is a client's value and is cut, and so is a long
    message. Messages that quote a value call preview() themselves; this is the net."""
    text = _LONG_WORD.sub(lambda m: preview(m[0]), text)
    return text if len(text) <= MAX_DETAIL_LENGTH else text[:MAX_DETAIL_LENGTH] + "…"


class SpindleError(Exception):
    """Base of every error a service raises; views turn it into JSON."""

    status_code = 500
    default_detail = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class NotFound(SpindleError):
    status_code = 404
    default_detail = "Not Found"


class Conflict(SpindleError):
    status_code = 409
    default_detail = "Conflict"


class ThreadBusy(Conflict):
    default_detail = (
        "Thread is already running a task. Wait for it to finish or choose a different "
        "multitask strategy."
    )


class InvalidInput(SpindleError):
    status_code = 422
    default_detail = "Invalid input"


class UnsupportedMediaType(SpindleError):
    status_code = 415
    default_detail = (
        "Unsupported Media Type: the body must be JSON (Content-Type: application/json)"
    )


class BadHost(SpindleError):
    status_code = 400
    default_detail = "Invalid Host header"


class ServiceUnavailable(SpindleError):
    status_code = 503
    default_detail = "Service unavailable"


def _flatten(errors: Any, loc: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if isinstance(errors, dict):
        out: list[dict[str, Any]] = []
        for key, value in errors.items():
            out.extend(_flatten(value, (*loc, str(key))))
        return out
    if isinstance(errors, list) and errors and not all(isinstance(e, str) for e in errors):
        out = []
        for index, value in enumerate(errors):
            out.extend(_flatten(value, (*loc, str(index))))
        return out
    messages = errors if isinstance(errors, list) else [errors]
    return [{"loc": [bounded(part) for part in loc], "msg": bounded(_message(m))} for m in messages]


# DRF's message for a value outside a ChoiceField's choices quotes the whole value.
_NOT_A_CHOICE = '" is not a valid choice.'


def _message(error: Any) -> str:
    text = str(error)
    if (
        getattr(error, "code", None) == "invalid_choice"
        and text.startswith('"')
        and text.endswith(_NOT_A_CHOICE)
    ):
        return f'"{preview(text[1 : -len(_NOT_A_CHOICE)])}{_NOT_A_CHOICE}'
    return text


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = ".".join(p for p in error["loc"] if p != "non_field_errors")
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts) or "Invalid request"


def _is_redis_down(exc: Exception) -> bool:
    try:
        import redis
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def error_payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Map any exception to (status, body); used by DRF and by plain Django views. A
    message never quotes more than a short prefix of a client's value."""
    status, body = _payload(exc)
    body["detail"] = bounded(body["detail"])
    return status, body


def _payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, SpindleError):
        return exc.status_code, {"detail": exc.detail}
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return 422, {"detail": _validation_detail(errors), "errors": errors}
    if isinstance(exc, drf_exceptions.ParseError):
        return 422, {"detail": "Invalid JSON in request body"}
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return 415, {"detail": UnsupportedMediaType.default_detail}
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return 405, {"detail": "Method Not Allowed"}
    if isinstance(exc, drf_exceptions.NotFound):
        return 404, {"detail": "Not Found"}
    if isinstance(exc, drf_exceptions.APIException):
        return exc.status_code, {"detail": str(exc.detail)}
    if isinstance(exc, RequestDataTooBig):
        return 413, {"detail": "Request body is too large"}
    if isinstance(exc, OperationalError | InterfaceError) or _is_redis_down(exc):
        logger.error("Backing service unavailable: %s", exc)
        return 503, {"detail": "Service unavailable: the database or Redis did not answer"}
    logger.exception("Unhandled error", exc_info=exc)
    return 500, {"detail": "Internal server error"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    status, body = error_payload(exc)
    headers = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, drf_exceptions.Throttled) else None
    if wait:
        headers["Retry-After"] = str(int(wait))
    return Response(body, status=status, headers=headers)


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "Bad Request")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "Forbidden")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "Not Found")


def handler500(request: HttpRequest) -> JsonResponse:
    return json_error(500, "Internal server error")
