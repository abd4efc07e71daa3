"""ASGI entry point served by uvicorn."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SPINDLE_DB_POOL", "1")
application = get_asgi_application()


def _ensure_default_assistants() -> None:
    # Every registered graph gets its system assistant when the server starts.
    from assistants.services import assistant_ensure_defaults

    assistant_ensure_defaults()


_ensure_default_assistants()
