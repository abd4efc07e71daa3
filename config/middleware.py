"""InputGateMiddleware (core.input's checks), AdminOnlyMiddleware, the admin's middleware
stack run for /admin/ (and /static/) requests only, StaticFilesMiddleware, which serves
/static/, and CorsMiddleware (langgraph.json)."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync, sync_to_async
from corsheaders.conf import conf as cors_conf
from corsheaders.middleware import CorsMiddleware as BaseCorsMiddleware
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.module_loading import import_string
from whitenoise.middleware import WhiteNoiseMiddleware

from core.errors import SpindleError, error_payload
from core.input import check_host, check_request
from core.middleware import HybridMiddleware

ADMIN_PREFIX = "/admin/"


class InputGateMiddleware(HybridMiddleware):
    """Answers a request that fails the gate with its JSON error; the admin's requests get
    the host check only (its forms are not JSON)."""

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        refused = self._refuse(request)
        return refused if refused is not None else self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        refused = self._refuse(request)
        return refused if refused is not None else await self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse | None:
        try:
            if request.path.startswith(ADMIN_PREFIX):
                check_host(request)
            else:
                check_request(request)
        except (SpindleError, RequestDataTooBig) as exc:
            status, body = error_payload(exc)
            return JsonResponse(body, status=status)
        return None


class AdminOnlyMiddleware(HybridMiddleware):
    """Sessions, CSRF, authentication and messages serve the admin, never the API.

    Under ASGI every classic middleware hook runs in a worker thread, so each API
    request would pay a dozen thread hops for middleware it does not use. This one
    wraps the view in SPINDLE_ADMIN_MIDDLEWARE (outermost first, as in MIDDLEWARE) for
    paths under /admin/ and the admin's static files (served by WhiteNoise, the first of
    that stack), and calls it directly otherwise. The admin's views protect
    themselves against CSRF with their own decorators, so running CsrfViewMiddleware
    without its process_view hook loses nothing there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        self.admin = _chain(get_response, settings.SPINDLE_ADMIN_MIDDLEWARE, is_async=self.is_async)
        self.prefixes = (ADMIN_PREFIX, "/" + settings.STATIC_URL.lstrip("/"))

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        handler = self.admin if request.path.startswith(self.prefixes) else self.get_response
        return handler(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        handler = self.admin if request.path.startswith(self.prefixes) else self.get_response
        return await handler(request)


def _chain(handler: Callable[[HttpRequest], Any], paths: list[str], *, is_async: bool) -> Any:
    """Wrap `handler` in the middleware at `paths`, adapting sync and async as Django's
    own load_middleware does (WhiteNoise's middleware, for one, is synchronous only)."""
    handler_is_async = is_async
    for path in reversed(paths):
        factory = import_string(path)
        can_sync = getattr(factory, "sync_capable", True)
        can_async = getattr(factory, "async_capable", False)
        middleware_is_async = can_async and (handler_is_async or not can_sync)
        if middleware_is_async != handler_is_async:
            handler = (
                sync_to_async(handler, thread_sensitive=True)
                if middleware_is_async
                else async_to_sync(handler)
            )
        handler = factory(handler)
        handler_is_async = middleware_is_async
    if handler_is_async != is_async:
        handler = (
            sync_to_async(handler, thread_sensitive=True) if is_async else async_to_sync(handler)
        )
    return handler


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, quiet about a STATIC_ROOT that collectstatic has not made: without it
    (make dev, the tests) the files come from the apps through the finders."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No directory at")
            super().__init__(get_response)


class CorsMiddleware(BaseCorsMiddleware):
    """django-cors-headers, configured from langgraph.json's "http.cors", as the official
    server's (Starlette's) CORS middleware answers: a preflight from an origin that is not
    allowed gets 400, and "allow_headers": ["*"] allows whatever headers a preflight asks
    for (a literal "*" means nothing to a browser once credentials are allowed)."""

    def check_preflight(self, request: HttpRequest) -> HttpResponseBase | None:
        response = super().check_preflight(request)
        if response is None:
            return None
        origin = request.headers.get("origin", "")
        if origin and not self._allowed(request, origin):
            return JsonResponse({"detail": "Disallowed CORS origin"}, status=400)
        return response

    def add_response_headers(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().add_response_headers(request, response)
        asked = request.headers.get("access-control-request-headers")
        if (
            asked
            and request.method == "OPTIONS"
            and "access-control-allow-origin" in response
            and "*" in cors_conf.CORS_ALLOW_HEADERS
        ):
            response["access-control-allow-headers"] = asked
        return response

    def _allowed(self, request: HttpRequest, origin: str) -> bool:
        if cors_conf.CORS_ALLOW_ALL_ORIGINS:
            return True
        try:
            url = urlsplit(origin)
        except ValueError:
            return False
        return self.origin_found_in_white_lists(origin, url) or self.check_signal(request)
