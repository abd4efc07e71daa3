"""A real Spindle stack for tests and benchmarks: a fresh PostgreSQL database, uvicorn and
Celery workers as subprocesses, all on free ports."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
# Every stack's web pool is small unless a test needs more: suites running side by side
# share one PostgreSQL (max_connections 100).
POOL_SIZE = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_database(name: str, base: str | None = None) -> str:
    """Create (or re-create) a PostgreSQL database beside the session's (or on the server
    of `base`), migrated. On the session's server it is a copy of a template migrated once
    per process: copying takes a fraction of a second, migrating takes seconds."""
    session = os.environ.get("DATABASE_URL", "")
    base = base or session
    if not base.startswith(("postgres://", "postgresql://")):
        raise RuntimeError("a stack needs PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(base)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    template = _migrated_template(base) if base == session else None
    with psycopg.connect(_admin_url(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if template is None:
        _migrate(url)
    return url


_templates: dict[str, str] = {}


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        timeout=300,
    )


def _migrated_template(base: str) -> str:
    """This process's migrated template database on `base`'s server, dropped at exit. Nothing
    stays connected to it, so CREATE DATABASE ... TEMPLATE can copy it."""
    if base not in _templates:
        name = f"spindle_template_{os.getpid()}"
        with psycopg.connect(_admin_url(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
        try:
            _migrate(url)
        except BaseException:
            drop_database(url)
            raise
        atexit.register(drop_database, url)
        _templates[base] = name
    return _templates[base]


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    """A web process and workers sharing one database and one Redis."""

    url: str
    db_url: str
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_worker(
        self, name: str = "worker", *, beat: bool = False, concurrency: int | None = None
    ) -> subprocess.Popen:
        """A Celery worker; `concurrency` None leaves Celery's default (one pool process per CPU)."""
        log = self.log_dir / f"{name}.log"
        cmd = [
            sys.executable,
            # Celery's command line without its REPL library (config/worker.py).
            "-m",
            "config.worker",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
        if concurrency is not None:
            cmd += ["--concurrency", str(concurrency)]
        if beat:
            cmd += ["-B", "--schedule", str(self.log_dir / f"{name}-beat-schedule")]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        _wait_for_line(log, "ready.", proc, timeout=60)
        return proc

    def start_sweeper(self, name: str = "sweeper") -> subprocess.Popen:
        """The sweeper process (`manage.py sweep_runs --loop`), apart from any worker."""
        log = self.log_dir / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "sweep_runs", "--loop"],
            cwd=ROOT,
            # At least INFO: its start line is what says it is ready (the bench runs the
            # stack at WARNING).
            env={**self.env, "LOG_LEVEL": "INFO"},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        _wait_for_line(log, "Sweeper started", proc, timeout=60)
        return proc

    def start_web(self, name: str = "web", url: str | None = None) -> subprocess.Popen:
        """A uvicorn process serving `url` (the stack's own by default), after creating the
        graphs' system assistants as a deployment does (importing the app writes nothing)."""
        url = url or self.url
        subprocess.run(
            [sys.executable, "manage.py", "ensure_assistants"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        port = int(url.rsplit(":", 1)[1])
        log = self.log_dir / f"{name}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--no-access-log",
                "--no-server-header",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer /ok:\n{log.read_text()}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self.processes):
            proc = self.processes[name]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name in list(self.processes):
            proc = self.processes.pop(name)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def sql(self, query: str, *params: object) -> list[tuple]:
        """Read the stack's database directly, to check invariants behind the API."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def wait_for_log(self, name: str, needle: str, *, timeout: float = 10) -> None:
        """Wait until `<name>.log` holds `needle`: a process logs after the commit it reports."""
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while not (log.exists() and needle in log.read_text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{log.name}: no {needle!r} within {timeout}s:\n{self.logs()}")
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


def _wait_for_line(log: Path, needle: str, proc: subprocess.Popen, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: process exited early:\n{log.read_text()}")
        if log.exists() and needle in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{log.name}: no {needle!r} within {timeout}s:\n{log.read_text()}")


def stack_env(*, redis_url: str, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.setdefault("SPINDLE_DB_POOL_SIZE", str(POOL_SIZE))
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "e2e-stack-secret-key-not-the-development-one-0123456789",
            "LANGGRAPH_CONFIG": str(ROOT / "tests" / "e2e" / "langgraph.json"),
            "SPINDLE_HEARTBEAT_SECONDS": "0.5",
            "SPINDLE_STALE_AFTER_SECONDS": "3",
            "SPINDLE_SWEEP_SECONDS": "1",
            "SPINDLE_REDISPATCH_AFTER_SECONDS": "3",
            "SPINDLE_CANCEL_GRACE_SECONDS": "2",
            # Quick enough for the TTL tests, without crowding the runs on a busy machine.
            "SPINDLE_TTL_SWEEP_SECONDS": "2",
            # The tests' webhook receivers listen on 127.0.0.1.
            "SPINDLE_WEBHOOK_ALLOW_PRIVATE": "1",
            "SPINDLE_WEBHOOK_BACKOFF_SECONDS": "0.2",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class RedisServer:
    """A private redis-server on a free port, so fault tests never touch the shared one."""

    def __init__(self, log_dir: Path, *, persistent: bool = False) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        # persistent: every write is in the append-only file before Redis answers, so a
        # restart (even after SIGKILL) keeps the data, as a production Redis would.
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.log_dir),
                *(
                    ["--appendonly", "yes", "--appendfsync", "always"]
                    if self.persistent
                    else ["--appendonly", "no"]
                ),
            ],
            stdout=(self.log_dir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class PostgresServer:
    """A private PostgreSQL cluster on a free port (initdb in a temporary directory, run as
    the postgres user), so fault tests can stop and start it without touching the shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="spindle-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *cmd],
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=60 -c shared_buffers=32MB"
        )
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_stack(
    name: str, log_dir: Path, *, persistent_redis: bool = False, env: dict[str, str] | None = None
) -> Iterator[tuple[Stack, RedisServer]]:
    """A Stack on a fresh database (`spindle_<name>_<pid>`) and a private redis-server, for
    tests that restart Redis, kill processes or let generated requests change anything. No
    process is started: the caller starts web, workers and sweeper. Everything is stopped and
    the database dropped on exit; the logs are printed if starting fails."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        if "pytest" in sys.modules:
            import pytest

            pytest.skip("a private stack needs PostgreSQL (set DATABASE_URL)")
        raise RuntimeError("a private stack needs PostgreSQL: set DATABASE_URL=postgres://...")
    redis_server = RedisServer(log_dir, persistent=persistent_redis)
    redis_server.start()
    db_url = ""
    try:
        db_url = fresh_database(f"spindle_{name}_{os.getpid()}")
        stack = Stack(
            url=f"http://127.0.0.1:{free_port()}",
            db_url=db_url,
            env={**stack_env(redis_url=redis_server.url, db_url=db_url), **(env or {})},
            log_dir=log_dir,
        )
        try:
            yield stack, redis_server
        except Exception:
            print(stack.logs())
            raise
        finally:
            stack.stop()
    finally:
        redis_server.stop()
        if db_url:
            drop_database(db_url)
