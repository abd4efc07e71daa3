"""AdminOnlyMiddleware: the admin's middleware stack, run for /admin/ requests only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

ADMIN_PREFIX = "/admin/"


class AdminOnlyMiddleware:
    """Sessions, CSRF, authentication and messages serve the admin, never the API.

    Under ASGI every classic middleware hook runs in a worker thread, so each API
    request would pay a dozen thread hops for middleware it does not use. This one
    wraps the view in SPINDLE_ADMIN_MIDDLEWARE (outermost first, as in MIDDLEWARE) for
    paths under /admin/ and calls it directly otherwise. The admin's views protect
    themselves against CSRF with their own decorators, so running CsrfViewMiddleware
    without its process_view hook loses nothing there.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        admin = get_response
        for path in reversed(settings.SPINDLE_ADMIN_MIDDLEWARE):
            admin = import_string(path)(admin)
        self.admin = admin

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        handler = self.admin if request.path.startswith(ADMIN_PREFIX) else self.get_response
        return handler(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        handler = self.admin if request.path.startswith(ADMIN_PREFIX) else self.get_response
        return await handler(request)
