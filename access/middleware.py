"""AccessMiddleware: every API request proves who it is (an API key, or the application's
authenticate handler) before anything else looks at it."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict

from access.context import Caller, reset_caller, set_caller
from access.handlers import Denied, auth_object, authenticate
from core.middleware import HybridMiddleware

API_KEY_HEADER = "x-api-key"
# Open to everyone, as the official server's meta routes are: health checks, the server
# description, the API document and the metrics (counts only, no user data). The admin has
# Django's staff login, and /static/ its CSS.
OPEN_PATHS = frozenset({"/", "/ok", "/info", "/docs", "/openapi.json", "/metrics"})
OPEN_PREFIXES = ("/admin/", "/static/")


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def api_key_valid(presented: str | None) -> bool:
    """Whether `presented` is one of SPINDLE_API_KEYS, compared in constant time (every key
    is compared, so the time does not tell which one nearly matched)."""
    if not presented:
        return False
    given = presented.encode()
    matched = False
    for key in settings.SPINDLE_API_KEYS:
        matched |= hmac.compare_digest(given, key.encode())
    return matched


def access_mode() -> tuple[int, str]:
    """The level and the one line of the start-up log saying how the API is protected
    (naming no key); an open API is a warning."""
    if settings.SPINDLE_AUTH_PATH:
        return (
            logging.INFO,
            f"Access: custom auth from langgraph.json ({settings.SPINDLE_AUTH_PATH})",
        )
    if settings.SPINDLE_API_KEYS:
        count = len(settings.SPINDLE_API_KEYS)
        return (
            logging.INFO,
            f"Access: API keys ({count} configured); requests need the x-api-key header",
        )
    return (
        logging.WARNING,
        "Access: OPEN, the API needs no credentials (set SPINDLE_API_KEYS or langgraph.json auth)",
    )


class AccessMiddleware(HybridMiddleware):
    """Answers 401 {"detail": ...} for a request without valid credentials; with custom
    auth, makes the user the request's caller (access.context) for the handlers and
    selectors downstream."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        self.custom = auth_object() is not None
        self.keys = bool(settings.SPINDLE_API_KEYS)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        refused = self._check_key(request)
        caller = None
        if refused is None and self.custom and not is_open(request.path):
            refused, caller = async_to_sync(self._authenticate)(request)
        if refused is not None:
            return _secured(refused)
        token = set_caller(caller)
        try:
            return _secured(self.get_response(request))
        finally:
            reset_caller(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        refused = self._check_key(request)
        caller = None
        if refused is None and self.custom and not is_open(request.path):
            refused, caller = await self._authenticate(request)
        if refused is not None:
            return _secured(refused)
        token = set_caller(caller)
        try:
            return _secured(await self.get_response(request))
        finally:
            reset_caller(token)

    def _check_key(self, request: HttpRequest) -> HttpResponse | None:
        """401 for an API request without a valid key, when API keys (and no custom auth)
        are configured; None otherwise."""
        if self.custom or not self.keys or is_open(request.path):
            return None
        if api_key_valid(request.headers.get(API_KEY_HEADER)):
            return None
        return JsonResponse({"detail": "Missing or invalid API key (x-api-key header)"}, status=401)

    async def _authenticate(
        self, request: HttpRequest
    ) -> tuple[HttpResponse | None, Caller | None]:
        """(None, the caller) as the custom authenticate handler says; (its 401/403, None)
        when it refuses."""
        try:
            caller = await authenticate(request)
        except Denied as exc:
            return JsonResponse({"detail": exc.detail}, status=exc.status_code), None
        return None, caller


def _handshake_request(scope: Mapping[str, Any]) -> HttpRequest:
    """A websocket handshake as the HttpRequest an authenticate handler reads (its path,
    headers and query string; no body)."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = str(scope.get("path") or "")
    for name, value in scope.get("headers") or []:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        request.META[key] = value.decode("latin-1")
    request.GET = QueryDict(bytes(scope.get("query_string") or b"").decode("latin-1"))
    request._body = b""
    return request


async def websocket_caller(scope: Mapping[str, Any]) -> Caller | None:
    """The caller of a websocket handshake, which Django's middleware never sees: checked
    as every API request is (the API key, or the application's authenticate handler).
    Denied when refused; None when no custom auth applies."""
    if auth_object() is not None:
        return await authenticate(_handshake_request(scope))
    if settings.SPINDLE_API_KEYS:
        headers = dict(scope.get("headers") or [])
        if not api_key_valid(headers.get(API_KEY_HEADER.encode(), b"").decode("latin-1")):
            raise Denied("Missing or invalid API key (x-api-key header)", status_code=401)
    return None


def _secured(response: HttpResponse) -> HttpResponse:
    # Browsers must take a JSON answer as JSON, never sniff it into HTML or script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
