"""Crons: schedules that create runs, as django-celery-beat periodic tasks."""
