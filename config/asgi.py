"""ASGI entry point served by uvicorn."""

import os

import django
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.urls import Resolver404, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SPINDLE_DB_POOL", "1")


class SpindleASGIHandler(ASGIHandler):
    """Django's ASGI handler, without a thread of its own for requests to async views.

    Django runs every request in a ThreadSensitiveContext: the request's synchronous
    work gets a new thread, started and joined per request. For an async view that work
    is only `response.close()` (it sends request_finished), yet the thread cost half of
    a plain request's CPU. The run endpoints are async views that reach the database
    through config.asyncdb, which hands connections back itself, so their requests skip
    that context and close on asgiref's one shared thread, where request_finished still
    closes whatever was opened there. Requests to synchronous views keep a thread each,
    as before: one slow view must not hold up the others.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            # The only websocket is the thread-stream protocol's; Django serves no websockets.
            from protocols import websocket

            await websocket.application(scope, receive, send)
        elif scope["type"] == "http" and _serves_async_view(scope):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _serves_async_view(scope: dict) -> bool:
    path = scope["path"]
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root):]
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


django.setup(set_prefix=False)
application = SpindleASGIHandler()


def _skip_request_started_hop() -> None:
    """Under ASGI, Django runs request_started's synchronous receivers on a thread of the
    request's own, a hop that cost a quarter of a plain request's CPU. Both receivers have
    nothing to do there: database connections belong to threads (a new one per request
    for synchronous views, executor threads for async views, which close their own), so
    there is no old connection to close yet, and queries are only logged with DEBUG.
    request_finished still closes what the request opened."""
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(close_old_connections)
    signals.request_started.disconnect(reset_queries)


_skip_request_started_hop()


def _ensure_default_assistants() -> None:
    # Every registered graph gets its system assistant when the server starts.
    from assistants.services import assistant_ensure_defaults

    assistant_ensure_defaults()


_ensure_default_assistants()
