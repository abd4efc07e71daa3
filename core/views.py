"""AsyncApi, the base of the API's views: async handlers, the JSON error body, Django's 405."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views import View

from core.errors import error_payload
from core.openapi import document_view

METHOD_NOT_ALLOWED = {"detail": "Method Not Allowed"}


class AsyncApi(View):
    """One path of the API. A subclass defines an async handler per HTTP method it serves
    (`get`, `post`, ...), named for the operation and documented with `extend_schema`; its
    class docstring is the operations' description in the API document, as for a DRF view.

    Django dispatches: a method the class does not define gets the 405 below. Any error a
    handler raises becomes the JSON body `error_payload` gives, as DRF's handler does. A
    handler reaches services and selectors through `core.db.asyncdb.db`.
    """

    # No OPTIONS (405, as the run endpoints always answered): CORS preflights are answered by
    # the middleware before they reach a view. HEAD is served by GET, as Django does.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    # True where every handler reaches the database only through core.db.asyncdb.db (threads
    # that keep their connections): the response is then closed on the event loop, without
    # request_finished's hop to asgiref's shared thread (config/asgi.py).
    closes_on_loop: ClassVar[bool] = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)
        # The API takes no cookies: no request can ride on a browser's session.
        view.csrf_exempt = True  # type: ignore[attr-defined]
        document_view(view, cls)
        return view

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        try:
            # Django's dispatch returns the handler's coroutine (or the 405's below).
            return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            return error_response(exc)
        finally:
            # Django's setup() serves HEAD by keeping `self.get` on the instance: a
            # reference cycle (view -> bound method -> view) that left the view, its
            # request and everything they hold for the garbage collector to find.
            self.__dict__.pop("head", None)

    async def http_method_not_allowed(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        return JsonResponse(
            METHOD_NOT_ALLOWED,
            status=405,
            headers={"Allow": ", ".join(self._allowed_methods())},  # type: ignore[attr-defined]
        )


def error_response(exc: Exception) -> JsonResponse:
    """The JSON answer to an error a handler raised, as DRF's exception handler gives it."""
    status, body = error_payload(exc)
    return JsonResponse(body, status=status)


def no_content() -> HttpResponse:
    """204, without a Content-Type: there is no body to describe (DRF and the official
    server send none)."""
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response
