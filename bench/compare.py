"""Spindle against the official server (`langgraph dev`, in-memory), the same client rounds
against both, one after the other, on this machine; prints each figure with its ratio.

Rounds: `echo` create + join latency (sequential); `echo` throughput with 1, 16 and 64
clients, and with 64 the CPU per run of the whole server (Spindle: web, worker,
PostgreSQL's backends of its database, its Redis) and of the bench's client; bursts of
20, 100 and 500 `agent` runs at 1 s per step started at once (wall time, and the peak
memory of the processes that execute runs); `agent` rollback request until the new run
is running; `echo` first stream event. Usage: `make bench-compare`
(which installs the pinned official server in `.venv-official`), or
`python -m bench.compare --official PATH/TO/langgraph`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from langgraph_sdk import get_client

from bench.__main__ import (
    again,
    echo_latency,
    echo_throughput,
    own_cpu_seconds,
    pct,
    processes,
    rollback_to_running,
    serves,
    stream_latency,
)
from tests.e2e.stack import (
    ROOT,
    RedisServer,
    Stack,
    drop_database,
    free_port,
    fresh_database,
    stack_env,
)

HUMAN = {"messages": [{"role": "human", "content": "weather in sf?"}]}


def memory_mb(session: int) -> float:
    """Proportional set size (MB) of the processes of one session (a server and its children):
    each page shared by forked processes is counted once in the sum, not once per process as
    resident memory would."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3]) != session:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


def cpu_seconds_of(sessions: list[int], pids: tuple[int, ...] = (), database: str = "") -> float:
    """CPU seconds used so far by the processes of these sessions (a server and its
    children) and these processes, plus, with `database`, the PostgreSQL backends serving
    that database."""
    return sum(
        process.cpu_seconds
        for pid, process in processes().items()
        if process.session in sessions or pid in pids or (database and serves(process, database))
    )


class PeakMemory:
    """Samples a session's memory every 50 ms while in use."""

    def __init__(self, session: int) -> None:
        self.session = session
        self.peak = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, memory_mb(self.session))
            self.stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


async def agent_burst(url: str, n: int, session: int) -> tuple[float, float, float]:
    """n agent runs (1 s per step, about 3 s each) on n threads, created at once; returns the
    wall time from the first request until every run has ended, and the memory (MB) of the
    server's processes (`session`: Spindle's worker, or the official server) before the
    burst and at its peak."""
    clients = [get_client(url=url, timeout=600) for _ in range(min(n, 20))]
    threads = [(await clients[i % len(clients)].threads.create())["thread_id"] for i in range(n)]
    idle = memory_mb(session)

    async def one(index: int) -> None:
        client = clients[index % len(clients)]
        # Under a burst a server may drop a kept-alive connection as a request goes out on
        # it; the request is sent again.
        run = await again(
            lambda: client.runs.create(
                threads[index], "agent", input=HUMAN, config={"configurable": {"delay": 1}}
            )
        )
        await again(lambda: client.runs.join(threads[index], run["run_id"]))
        status = (await again(lambda: client.runs.get(threads[index], run["run_id"])))["status"]
        assert status == "success", f"run {run['run_id']} ended {status}"

    with PeakMemory(session) as memory:
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - started
    return wall, idle, memory.peak


@dataclass
class Figures:
    rows: dict[str, float] = field(default_factory=dict)
    lower_is_better: set[str] = field(default_factory=set)

    def add(self, name: str, value: float, *, lower_is_better: bool) -> None:
        self.rows[name] = value
        if lower_is_better:
            self.lower_is_better.add(name)
        print(f"  {name}: {value:.1f}", flush=True)


async def rounds(
    url: str, session: int, args: argparse.Namespace, server_cpu: Callable[[], float]
) -> Figures:
    """The client rounds. `session`: the processes that execute runs (their memory is
    measured); `server_cpu`: the CPU seconds the whole server has used so far."""
    figures = Figures()
    await echo_latency(url, 5)  # warm-up: imports, connections
    latency = await echo_latency(url, args.n, fresh_threads=True)
    figures.add("echo create+join p50 (ms)", pct(latency, 0.5), lower_is_better=True)
    figures.add("echo create+join p95 (ms)", pct(latency, 0.95), lower_is_better=True)
    for clients in (1, 16, 64):
        # One client against the official server makes about one run a second.
        per_client = max(1, min(args.runs // clients, 40))
        # Measured around the timed part only (the clients and threads are made before it).
        rate, before, after = await echo_throughput(
            url, clients, per_client, measure=lambda: (server_cpu(), own_cpu_seconds())
        )
        figures.add(f"echo runs/s, {clients} clients", rate, lower_is_better=False)
        if clients == 64:
            runs = clients * per_client
            figures.add(
                "CPU per run with 64 clients: server, all processes (ms)",
                (after[0] - before[0]) * 1000 / runs,
                lower_is_better=True,
            )
            figures.add(
                "CPU per run with 64 clients: the bench's client (ms)",
                (after[1] - before[1]) * 1000 / runs,
                lower_is_better=True,
            )
    for n in args.bursts:
        wall, idle, peak = await agent_burst(url, n, session)
        figures.add(f"agent burst of {n}: wall (s)", wall, lower_is_better=True)
        figures.add(f"agent burst of {n}: peak memory (MB)", peak, lower_is_better=True)
        figures.add(
            f"agent burst of {n}: memory growth per run (MB)",
            max(0.0, peak - idle) / n,
            lower_is_better=True,
        )
    roll = await rollback_to_running(url, args.rollbacks)
    figures.add("rollback -> new run running p50 (ms)", pct(roll, 0.5), lower_is_better=True)
    marks = await stream_latency(url, "echo", args.streams)
    figures.add(
        "echo first stream event p50 (ms)", pct(marks["first event"], 0.5), lower_is_better=True
    )
    return figures


async def spindle(args: argparse.Namespace) -> Figures:
    log_dir = Path(tempfile.mkdtemp(prefix="spindle-compare-"))
    redis_server = RedisServer(log_dir)  # a Redis of its own: nothing shared is flushed
    redis_server.start()
    db_url = fresh_database(f"spindle_compare_{os.getpid()}")
    stack = Stack(
        url=f"http://127.0.0.1:{free_port()}",
        db_url=db_url,
        env=stack_env(redis_url=redis_server.url, db_url=db_url),
        log_dir=log_dir,
    )
    # A deployment's defaults, not the end-to-end tests' fast timers.
    for name in list(stack.env):
        if name.startswith("SPINDLE_"):
            del stack.env[name]
    stack.env["LOG_LEVEL"] = "WARNING"
    try:
        web = stack.start_web()
        # Default settings: a pool process per CPU, 50 runs each (no beat: no process to sweep).
        worker = stack.start_worker(beat=False)
        redis_pid = (redis_server.proc.pid,)
        database = db_url.rsplit("/", 1)[1]
        return await rounds(
            stack.url,
            worker.pid,
            args,
            lambda: cpu_seconds_of([web.pid, worker.pid], redis_pid, database),
        )
    finally:
        stack.stop()
        redis_server.stop()
        drop_database(db_url)
        print(f"  (Spindle logs in {log_dir})")


async def official(args: argparse.Namespace) -> Figures:
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="official-compare-"))
    log = (log_dir / "official.log").open("w")
    # It resolves graph paths against its working directory, not the config's: absolute ones.
    project = json.loads((ROOT / "langgraph.json").read_text())
    project["dependencies"] = [str(ROOT)]
    project["graphs"] = {name: str(ROOT / spec) for name, spec in project["graphs"].items()}
    config = log_dir / "langgraph.json"
    config.write_text(json.dumps(project))
    proc = subprocess.Popen(
        [
            # Resolved: the server runs in a directory of its own.
            str(Path(args.official).resolve()),
            "dev",
            "--port",
            str(port),
            "--no-browser",
            "--no-reload",
            "--n-jobs-per-worker",
            str(args.jobs),
            "--config",
            str(config),
        ],
        # Its working directory holds the state it persists (.langgraph_api): a fresh one.
        cwd=log_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (log_dir / "official.log").read_text()
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the official server did not start"
            time.sleep(0.2)
        return await rounds(url, proc.pid, args, lambda: cpu_seconds_of([proc.pid]))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        print(f"  (official server logs in {log_dir})")


def table(ours: Figures, theirs: Figures, jobs: int) -> str:
    lines = [
        f"| measure | Spindle | official (`langgraph dev`, {jobs} jobs per worker) | Spindle ahead by |",
        "| --- | --- | --- | --- |",
    ]
    for name, value in ours.rows.items():
        other = theirs.rows.get(name)
        if other is None:
            continue
        if name in ours.lower_is_better:
            ratio = other / value if value else float("inf")
        else:
            ratio = value / other if other else float("inf")
        lines.append(f"| {name} | {value:.1f} | {other:.1f} | {ratio:.2f}x |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    print(
        f"Spindle ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores):",
        flush=True,
    )
    ours = await spindle(args)
    print("official server:", flush=True)
    theirs = await official(args)
    print()
    print(table(ours, theirs, args.jobs))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--official", required=True, help="the official server's `langgraph` command"
    )
    parser.add_argument(
        "--jobs", type=int, default=10, help="the official server's jobs per worker"
    )
    parser.add_argument("--n", type=int, default=50, help="sequential create+join samples")
    parser.add_argument(
        "--runs",
        type=int,
        default=1280,
        help="runs per throughput round (at most 40 per client): 20 per client with 64",
    )
    parser.add_argument("--bursts", type=int, nargs="*", default=[20, 100, 500])
    parser.add_argument("--rollbacks", type=int, default=10)
    parser.add_argument("--streams", type=int, default=20)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
