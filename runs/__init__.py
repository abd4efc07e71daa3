"""Runs: their lifecycle, the Celery tasks that execute them, and streaming."""
