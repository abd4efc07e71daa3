"""Domain errors and the one JSON error shape: {"detail": "<message>"}."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


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
    return [{"loc": list(loc), "msg": str(m)} for m in messages]


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
    """Map any exception to (status, body); used by DRF and by plain Django views."""
    if isinstance(exc, SpindleError):
        return exc.status_code, {"detail": exc.detail}
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return 422, {"detail": _validation_detail(errors), "errors": errors}
    if isinstance(exc, drf_exceptions.ParseError):
        return 422, {"detail": "Invalid JSON in request body"}
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return 415, {"detail": str(exc.detail)}
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
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait))
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


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body for views that do not go through DRF parsers."""
    if not raw:
        raise InvalidInput("Invalid JSON in request body")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("Invalid JSON in request body") from None
