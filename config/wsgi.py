"""WSGI entry point (the admin works here; streaming wants ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.deploy import refuse_development_secret_key  # noqa: E402 (needs the settings)

refuse_development_secret_key()
