"""Serve the API with uvicorn and run a Celery worker (with beat, for crons and TTLs) and the
run sweeper beside it, on the configured Redis or, with no REDIS_URL, on an embedded one."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.env import _redact as redact
from config.project import read_document
from config.serving import Child, EmbeddedRedis, StartupFailed, Supervisor, watch_targets


class Command(BaseCommand):
    help = (
        "Serve the LangGraph API on HOST:PORT (default 127.0.0.1:2024) with a Celery worker and "
        "beat; with no REDIS_URL, on an embedded Redis. `make dev` runs it with --reload."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host",
            default=os.environ.get("HOST", "127.0.0.1"),
            help="address to listen on (env HOST)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "2024")),
            help="port to listen on (env PORT)",
        )
        parser.add_argument("--no-worker", action="store_true", help="serve the API only")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=int(os.environ.get("SPINDLE_WORKER_CONCURRENCY", "2")),
            help=(
                "worker pool processes to start (default $SPINDLE_WORKER_CONCURRENCY or 2); each "
                "executes up to $SPINDLE_RUNS_PER_WORKER runs at once"
            ),
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="restart web and worker when a graph's code or langgraph.json changes",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        no_worker: bool,
        concurrency: int,
        reload: bool,
        **options: Any,
    ) -> None:
        from config.deploy import refuse_development_secret_key

        refuse_development_secret_key()
        _check_port_free(host, port)
        _check_database()
        _ensure_assistants()
        config_path = Path(settings.LANGGRAPH_CONFIG).expanduser().resolve()
        document = read_document(config_path)
        if document is None:
            raise CommandError(f"Graph registry {config_path} not found (set LANGGRAPH_CONFIG)")

        # A SIGTERM ends `serve` through its `finally`, which stops what it started.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        redis: EmbeddedRedis | None = None
        redis_url = settings.REDIS_URL
        supervisor: Supervisor | None = None
        try:
            if not redis_url and not no_worker:
                redis = EmbeddedRedis()
                try:
                    redis.start()
                except Exception as exc:
                    raise CommandError(f"The embedded Redis did not start: {exc}") from None
                redis_url = redis.url
            env = _child_env(redis_url)
            web_env = {**env, "SPINDLE_DB_POOL": os.environ.get("SPINDLE_DB_POOL", "1")}
            web = Child("web", _web_command(host, port), web_env)
            worker = None if no_worker else Child("worker", _worker_command(concurrency), env)
            # The run sweeper is a process of its own, so a dead worker's runs end with no worker alive.
            sweeper = None if no_worker else Child("sweeper", _sweeper_command(), env)
            watch_paths, watch_files = watch_targets(config_path, document)
            supervisor = Supervisor(
                web=web,
                worker=worker,
                ready_url=f"http://{_client_host(host)}:{port}/ok",
                say=self._say,
                watch_paths=watch_paths,
                watch_files=watch_files,
                sweeper=sweeper,
            )
            try:
                supervisor.start()
            except StartupFailed as failed:
                raise SystemExit(failed.returncode) from None
            self._banner(
                host,
                port,
                redis,
                worker,
                sweeper,
                concurrency,
                document,
                config_path,
                reload,
                watch_paths,
            )
            code = supervisor.run(reload=reload)
            raise SystemExit(code)
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        finally:
            if supervisor is not None:
                supervisor.stop()
            if redis is not None:
                redis.stop()

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def _banner(
        self,
        host: str,
        port: int,
        redis: EmbeddedRedis | None,
        worker: Child | None,
        sweeper: Child | None,
        concurrency: int,
        document: dict,
        config_path: Path,
        reload: bool,
        watch_paths: list[Path],
    ) -> None:
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3"):
            database = f"SQLite {_shown(db['NAME'])} (WAL)"
        else:
            database = f"PostgreSQL {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']} (web pool of at most {settings.SPINDLE_DB_POOL_SIZE})"
        if redis is not None:
            broker = f"embedded {redis.version} on {redis.socket} (removed on exit)"
        elif settings.REDIS_URL:
            broker = redact(settings.REDIS_URL)
        else:
            broker = "none: creating runs answers 503 (set REDIS_URL, or drop --no-worker)"
        mode = (
            "embedded mode (no DATABASE_URL or REDIS_URL needed)"
            if redis is not None and database.startswith("SQLite")
            else ("with an embedded Redis" if redis is not None else "configured services")
        )
        graphs = document.get("graphs")
        lines = [
            f"Spindle serving on http://{host}:{port} ({mode})",
            f"  database  {database}",
            f"  redis     {broker}",
            f"  worker    {_worker_line(worker, concurrency, sweeper)}",
            f"  graphs    {', '.join(graphs) if isinstance(graphs, dict) else '?'} from {_shown(config_path)}",
            f"  reload    {'on: *.py and langgraph.json under ' + ', '.join(_shown(p) for p in watch_paths) if reload else 'off'}",
        ]
        self._say("\n".join(lines))


def _worker_line(worker: Child | None, concurrency: int, sweeper: Child | None) -> str:
    if worker is None:
        return "none (--no-worker)"
    line = f"Celery worker and beat, {concurrency} process{'es' if concurrency != 1 else ''} (pid {worker.pid})"
    return line if sweeper is None else f"{line}; run sweeper (pid {sweeper.pid})"


def _child_env(redis_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The children import config from this checkout whatever the working directory is.
    root = str(settings.BASE_DIR)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _web_command(host: str, port: int) -> list[str]:
    # Imported as config.asgi, which turns the connection pool on before settings are read.
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--log-level",
        settings.LOG_LEVEL.lower(),
        "--no-server-header",
    ]


def _worker_command(concurrency: int) -> list[str]:
    return [
        # --quiet: no Celery banner under serve's own summary (its log lines stay).
        # config.worker: Celery's command line without its REPL library.
        sys.executable,
        "-m",
        "config.worker",
        "-A",
        "config",
        "--quiet",
        "worker",
        "-B",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        settings.LOG_LEVEL,
        "--schedule",
        os.path.join(os.getcwd(), ".celerybeat-schedule"),
        "--without-gossip",
        "--without-mingle",
    ]


def _sweeper_command() -> list[str]:
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), "sweep_runs", "--loop"]


def _ensure_assistants() -> None:
    """Every registered graph gets its system assistant before the server answers. A graph
    that fails to import ends serve here with one line (exit 1), as the web process would."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connection

    from assistants.services import assistant_ensure_defaults

    try:
        assistant_ensure_defaults()
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Spindle cannot start: {exc}\n")
        raise SystemExit(1) from None
    finally:
        connection.close()


def _check_database() -> None:
    """One line, not a traceback, when the database is unreachable or not migrated."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.utils import Error as DatabaseError

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise CommandError(f"Cannot use the database: {str(exc).strip().splitlines()[0]}") from None
    finally:
        connection.close()
    if pending:
        raise CommandError(
            f"The database is not migrated ({len(pending)} migrations to apply): run "
            "`python manage.py migrate` (make dev does)"
        )


def _shown(path: str | Path) -> str:
    """A path relative to the working directory when it lies inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host


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
