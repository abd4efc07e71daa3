"""ASGI entry point served by uvicorn."""

import asyncio
import os
import sys

import django
from asgiref.sync import iscoroutinefunction
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import Resolver404, get_resolver, set_script_prefix

from config.collector import settle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SPINDLE_DB_POOL", "1")


class SpindleASGIHandler(ASGIHandler):
    """Django's ASGI handler, without a thread of its own for requests to async views.

    Django runs every request in a ThreadSensitiveContext: the request's synchronous
    work gets a new thread, started and joined per request. For an async view that work
    is only `response.close()` (it sends request_finished), yet the thread cost half of
    a plain request's CPU. The run endpoints are async views that reach the database
    through core.db.asyncdb, which hands connections back itself, so their requests skip
    that context and close on asgiref's one shared thread, where request_finished still
    closes whatever was opened there; the run endpoints, which open nothing there, close
    on the event loop. Requests to synchronous views keep a thread each, as before: one
    slow view must not hold up the others.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            # The only websocket is the thread-stream protocol's; Django serves no websockets.
            from protocols import websocket

            await websocket.application(scope, receive, send)
        elif scope["type"] == "http" and _serves_async_view(scope):
            view_class = getattr(scope[RESOLVED][1].func, "view_class", None)
            if getattr(view_class, "closes_on_loop", False):
                await self._handle_closing_on_loop(scope, receive, send)
            else:
                await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _handle_closing_on_loop(self, scope, receive, send):
        """Django's `handle` (5.2), but the response is closed on the event loop: `handle`
        closes it through sync_to_async, a hop to asgiref's shared thread (about 140 us of
        CPU) so that request_finished can close what was opened there. Views marked
        `closes_on_loop` (core.views.AsyncApi) open nothing there: they reach the database
        through core.db.asyncdb's threads, which keep their connections."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # create_request gives one or the other
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client disconnected during send_response
            return response

        # Watch for a disconnect while the response is made (a join may wait for hours).
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            response.close()
        body_file.close()

    async def listen_for_disconnect(self, receive):
        # Returns where Django's raises RequestAborted (which `handle` then ignores): the
        # exception's traceback tied the request's tasks, request and response into a
        # reference cycle, left for the garbage collector after every request.
        message = await receive()
        if message["type"] != "http.disconnect":
            raise AssertionError(f"Invalid ASGI message after request body: {message['type']}")

    def resolve_request(self, request):
        # The match `_serves_async_view` found for this path: resolving walks every URL
        # pattern before the run endpoints, so once per request is enough.
        found = getattr(request, "scope", {}).get(RESOLVED)
        if found is None or found[0] != request.path_info or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        request.resolver_match = found[1]
        return found[1]


# The scope key under which the path's URL match is kept for the request's handler.
RESOLVED = "spindle.resolved"


def _serves_async_view(scope: dict) -> bool:
    path = scope["path"]
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    scope[RESOLVED] = (path, match)
    return iscoroutinefunction(match.func)


def _exit_on_startup_error(exc: BaseException) -> None:
    """A startup problem (a malformed setting, a graph that fails to import, an unmigrated
    or unreachable database) ends the process with one line, not a traceback."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    if isinstance(exc, ImproperlyConfigured):
        message = str(exc)
    elif isinstance(exc, DatabaseError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "no such table" in first or "does not exist" in first:
            message = f"The database is not migrated ({first}): run `python manage.py migrate`"
        else:
            message = f"Cannot use the database: {first}"
    else:
        return
    sys.stderr.write(f"Spindle cannot start: {message}\n")
    sys.stderr.flush()
    raise SystemExit(1) from None


try:
    django.setup(set_prefix=False)
except Exception as exc:
    _exit_on_startup_error(exc)
    raise
application = SpindleASGIHandler()


def _refuse_development_key() -> None:
    from config.deploy import refuse_development_secret_key

    refuse_development_secret_key()


_refuse_development_key()


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


def _load_graphs() -> None:
    # A graph that fails to import stops the server now, not at its first request. The
    # system assistants are created by `serve`, `ensure_assistants` and each worker's
    # start, not here: importing this module writes nothing.
    from assistants.graphs import graph_ids

    graph_ids()


def _warn_about_unsupported_keys() -> None:
    import logging

    from django.conf import settings

    from config.project import read_document, unsupported_keys

    for warning in unsupported_keys(read_document(settings.LANGGRAPH_CONFIG) or {}):
        logging.getLogger("spindle").warning("%s", warning)


def _log_access_mode() -> None:
    import logging

    from access.handlers import auth_object
    from access.middleware import access_mode

    auth_object()  # a broken auth.py stops the start, not the first request
    level, line = access_mode()
    logging.getLogger("spindle").log(level, "%s", line)


try:
    _warn_about_unsupported_keys()
    _log_access_mode()
    _load_graphs()
except Exception as exc:
    _exit_on_startup_error(exc)
    raise


# Everything the start made is made: out of the garbage collector's reach with it.
settle()
