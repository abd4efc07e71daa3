"""What a serving process (web, worker, beat) refuses to start with."""

from __future__ import annotations

from django.conf import settings

DEVELOPMENT_KEY_REFUSED = (
    "SECRET_KEY is Spindle's development key: set SECRET_KEY to a long random secret "
    "(DEBUG=1 or SPINDLE_DEV=1, which `make dev` sets, allow it for development)"
)


def refuse_development_secret_key() -> None:
    """Exit with one line naming SECRET_KEY when a server would run with the development key."""
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY and not (
        settings.DEBUG or settings.SPINDLE_DEV
    ):
        raise SystemExit(DEVELOPMENT_KEY_REFUSED)
