"""Serve the API with uvicorn, and (with REDIS_URL) a Celery worker and beat beside it."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve the LangGraph API on HOST:PORT (default 127.0.0.1:2024); with REDIS_URL also run a worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to listen on (default $HOST or 127.0.0.1)"
        )
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "2024")), help="port to listen on (default $PORT or 2024)"
        )
        parser.add_argument("--no-worker", action="store_true", help="serve the API only")
        parser.add_argument(
            "--concurrency", type=int, default=int(os.environ.get("SPINDLE_WORKER_CONCURRENCY", "2")),
            help=(
                "worker pool processes to start (default $SPINDLE_WORKER_CONCURRENCY or 2); each "
                "executes up to $SPINDLE_RUNS_PER_WORKER runs at once"
            ),
        )

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, concurrency: int, **options: Any) -> None:
        _check_port_free(host, port)
        worker: subprocess.Popen | None = None
        if settings.REDIS_URL and not no_worker:
            worker = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
                    "--concurrency", str(concurrency), "--loglevel", settings.LOG_LEVEL,
                    "--schedule", os.path.join(os.getcwd(), ".celerybeat-schedule"),
                    "--without-gossip", "--without-mingle",
                ]
            )
            self.stdout.write(f"Started a Celery worker and beat (pid {worker.pid})")
        elif not settings.REDIS_URL:
            self.stdout.write(
                self.style.WARNING(
                    "REDIS_URL is not set: serving the API without a worker; creating runs "
                    "answers 503 until REDIS_URL names a Redis server."
                )
            )
        self.stdout.write(f"Spindle serving on http://{host}:{port}")
        import uvicorn

        # uvicorn shuts down on SIGTERM and then raises the signal again with the handler
        # it found: the default one would end this process before the worker is stopped.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.run("config.asgi:application", host=host, port=port, log_level="info", lifespan="off")
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {host} is already in use. Stop what is using it, or choose "
                    f"another port: PORT={port + 1} make dev"
                ) from None
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
