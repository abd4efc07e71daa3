"""Helpers every app shares (the database, JSON, HTTP bodies, errors, ids); the lowest
layer: imports no app and not config (Django's settings only through django.conf)."""
