"""ASGI entry point served by uvicorn."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SPINDLE_DB_POOL", "1")
application = get_asgi_application()


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
