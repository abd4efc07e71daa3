"""Run-engine benchmark against a real stack (uvicorn + Celery worker + PostgreSQL + Redis).

Prints, for the `echo` graph, create-and-join latency p50/p95 and runs per second with
1, 4 and 16 concurrent clients, for the `agent` graph the time from a rollback request
until the new run is running, and for `runs.stream` of both graphs the time to the first
event, the first `values` and the first token (p50/p95). Usage: `make bench` (or
`python -m bench --help`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import redis
from langgraph_sdk import get_client

from tests.e2e.stack import Stack, drop_database, free_port, fresh_database, stack_env


class Process(NamedTuple):
    cmdline: str
    ppid: int
    session: int
    cpu_seconds: float


def processes() -> dict[int, Process]:
    """Every process of this machine (Linux /proc): pid -> its command line, parent,
    session and the CPU seconds it has used; empty where /proc is missing."""
    proc = Path("/proc")
    tick = os.sysconf("SC_CLK_TCK") if (proc / "self" / "stat").exists() else 1
    found: dict[int, Process] = {}
    for entry in proc.iterdir() if proc.exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = Process(
            cmdline, int(fields[1]), int(fields[3]), (int(fields[11]) + int(fields[12])) / tick
        )
    return found


def serves(process: Process, database: str) -> bool:
    """Whether `process` is a PostgreSQL backend serving `database`."""
    return process.cmdline.startswith("postgres") and f" {database} " in f"{process.cmdline} "


def cpu_seconds(roots: dict[str, int] | None = None, database: str = "") -> dict[str, float] | None:
    """CPU seconds used so far by each part of the stack on this machine (Linux /proc):
    web (uvicorn), worker (Celery), postgres, redis; None where /proc is missing.

    With `roots` (part -> pid), a part counts only that process and its descendants, and
    with `database` PostgreSQL counts only the backends serving it: other stacks on the
    machine (other checkouts' tests and benches) are not this one's cost. Redis is
    counted whole (one shared server)."""
    if not Path("/proc/self/stat").exists():
        return None
    totals = {"web": 0.0, "worker": 0.0, "postgres": 0.0, "redis": 0.0}
    found = processes()

    def under(pid: int, root: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = found[pid].ppid if pid in found else 0
        return False

    for pid, process in found.items():
        part = next(
            (
                name
                for name, needle in (
                    ("web", "uvicorn"),
                    ("worker", "celery"),
                    ("postgres", "postgres"),
                    ("redis", "redis-server"),
                )
                if needle in process.cmdline
            ),
            None,
        )
        if part in ("web", "worker") and roots and not under(pid, roots[part]):
            continue
        if part == "postgres" and database and not serves(process, database):
            continue
        if part is not None:
            totals[part] += process.cpu_seconds
    totals["bench client"] = own_cpu_seconds()
    return totals


def own_cpu_seconds() -> float:
    """CPU seconds this process (the bench's client) has used so far."""
    usage = os.times()
    return usage.user + usage.system


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def echo_latency(url: str, n: int, *, fresh_threads: bool = False) -> list[float]:
    """Sequential create + join; on one thread whose history grows, or a new thread each time."""
    client = get_client(url=url, timeout=60)
    thread = await client.threads.create()
    samples = []
    for i in range(n):
        if fresh_threads:
            thread = await client.threads.create()
        t0 = time.perf_counter()
        run = await client.runs.create(
            thread["thread_id"],
            "echo",
            input={"messages": [{"role": "human", "content": f"hi {i}"}]},
        )
        await client.runs.join(thread["thread_id"], run["run_id"])
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


async def again(call: Any, attempts: int = 10) -> Any:
    """`call()`, sent again when the server dropped the connection without answering: a
    kept-alive connection idle past uvicorn's keep-alive time (5 s) can be closed just as a
    request goes out on it, which happens to the slowest clients on a loaded machine."""
    for attempt in range(attempts):
        try:
            return await call()
        except (httpx.RemoteProtocolError, httpx.ConnectError, httpx.ReadError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)


async def echo_throughput(
    url: str, clients: int, runs_per_client: int, *, measure: Any = cpu_seconds
) -> tuple[float, dict[str, float] | None, dict[str, float] | None]:
    """Runs per second with `clients` clients, each creating and joining runs on a thread of
    its own, and the CPU counters before and after. Clients and threads are made before
    the clock starts: an SDK client's set-up (an HTTP client, TLS context included) is
    not a run's cost."""
    sessions = []
    for _ in range(clients):
        client = get_client(url=url, timeout=120)
        sessions.append((client, (await client.threads.create())["thread_id"]))

    async def one_client(client: Any, thread_id: str) -> None:
        for i in range(runs_per_client):
            run = await again(
                lambda i=i: client.runs.create(
                    thread_id, "echo", input={"messages": [{"role": "human", "content": f"m{i}"}]}
                )
            )
            await again(lambda run=run: client.runs.join(thread_id, run["run_id"]))

    before = measure()
    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(client, thread_id) for client, thread_id in sessions))
    rate = clients * runs_per_client / (time.perf_counter() - t0)
    return rate, before, measure()


async def rollback_to_running(url: str, reps: int) -> list[float]:
    client = get_client(url=url, timeout=60)
    samples = []
    for _ in range(reps):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        first = await client.runs.create(
            tid,
            "agent",
            input={"messages": [{"role": "human", "content": "weather in sf?"}]},
            config={"configurable": {"delay": 0.5}},
        )
        while (await client.runs.get(tid, first["run_id"]))["status"] != "running":
            await asyncio.sleep(0.005)
        t0 = time.perf_counter()
        second = await client.runs.create(
            tid,
            "agent",
            input={"messages": [{"role": "human", "content": "weather in nyc?"}]},
            config={"configurable": {"delay": 0.05}},
            multitask_strategy="rollback",
        )
        while (await client.runs.get(tid, second["run_id"]))["status"] == "pending":
            await asyncio.sleep(0.002)
        samples.append((time.perf_counter() - t0) * 1000)
        await client.runs.join(tid, second["run_id"])
    return samples


STREAM_MARKS = ("first event", "first values", "first token")


async def stream_latency(url: str, graph: str, n: int) -> dict[str, list[float]]:
    """`runs.stream` with values and messages-tuple on a new thread each time: ms from the
    request to the first event (metadata), the first `values` and the first token (the
    first `messages` chunk)."""
    client = get_client(url=url, timeout=60)
    config = {"configurable": {"delay": 0}} if graph == "agent" else None
    samples: dict[str, list[float]] = {mark: [] for mark in STREAM_MARKS}
    for i in range(n):
        thread = await client.threads.create()
        firsts: dict[str, float] = {}
        t0 = time.perf_counter()
        async for part in client.runs.stream(
            thread["thread_id"],
            graph,
            input={"messages": [{"role": "human", "content": f"weather in sf {i}?"}]},
            config=config,
            stream_mode=["values", "messages-tuple"],
        ):
            elapsed = (time.perf_counter() - t0) * 1000
            firsts.setdefault("first event", elapsed)
            if part.event == "values":
                firsts.setdefault("first values", elapsed)
            elif part.event == "messages":
                firsts.setdefault("first token", elapsed)
        for mark, value in firsts.items():
            samples[mark].append(value)
    return samples


async def main(args: argparse.Namespace) -> None:
    redis_url = os.environ["REDIS_URL"]
    redis.Redis.from_url(redis_url).flushdb()
    db_url = fresh_database(f"spindle_bench_{os.getpid()}")
    log_dir = Path(tempfile.mkdtemp(prefix="spindle-bench-"))
    stack = Stack(
        url=f"http://127.0.0.1:{free_port()}",
        db_url=db_url,
        env=stack_env(redis_url=redis_url, db_url=db_url),
        log_dir=log_dir,
    )
    # The defaults of a real deployment, not the end-to-end tests' fast timers.
    stack.env.update(
        {
            "LOG_LEVEL": "WARNING",
            "SPINDLE_HEARTBEAT_SECONDS": "5",
            "SPINDLE_STALE_AFTER_SECONDS": "30",
            "SPINDLE_SWEEP_SECONDS": "10",
            "SPINDLE_REDISPATCH_AFTER_SECONDS": "30",
            "SPINDLE_CANCEL_GRACE_SECONDS": "5",
        }
    )
    try:
        roots = {
            "web": stack.start_web().pid,
            "worker": stack.start_worker(concurrency=args.concurrency).pid,
        }
        stack.start_sweeper()
        measure = partial(cpu_seconds, roots, urlsplit(db_url).path.lstrip("/"))
        await echo_latency(stack.url, 10)  # warm-up: imports, connections
        for fresh, label in (
            (False, "one thread, growing history"),
            (True, "a new thread per run"),
        ):
            lat = await echo_latency(stack.url, args.n, fresh_threads=fresh)
            print(
                f"echo create+join (n={args.n}, {label}): p50 {pct(lat, 0.5):.1f} ms  "
                f"p95 {pct(lat, 0.95):.1f} ms  mean {statistics.mean(lat):.1f} ms"
            )
        for clients in (1, 4, 16):
            runs = clients * max(1, args.runs // clients)
            rate, before, after = await echo_throughput(
                stack.url, clients, runs // clients, measure=measure
            )
            print(f"echo throughput, {clients:>2} clients: {rate:.1f} runs/s")
            if clients == 16 and before and after:
                # Where the CPU goes (every part shares this machine's cores).
                shares = {part: (after[part] - before[part]) * 1000 / runs for part in after}
                print(
                    "  CPU per run: "
                    + ", ".join(f"{part} {ms:.1f} ms" for part, ms in shares.items())
                    + f" (total {sum(shares.values()):.1f} ms on {os.cpu_count()} cores)"
                )
                server = sum(ms for part, ms in shares.items() if part != "bench client")
                print(
                    f"  server parts alone: {server:.1f} ms per run, so at most "
                    f"{1000 * (os.cpu_count() or 1) / server:.0f} runs/s on these cores with the clients elsewhere"
                    " (an estimate from CPU time, not a measurement)"
                )
        roll = await rollback_to_running(stack.url, args.rollbacks)
        print(
            f"agent rollback request -> new run running (n={args.rollbacks}): "
            f"p50 {pct(roll, 0.5):.1f} ms  p95 {pct(roll, 0.95):.1f} ms"
        )
        for graph in ("echo", "agent"):
            marks = await stream_latency(stack.url, graph, args.streams)
            print(
                f"{graph} stream (n={args.streams}): "
                + "  ".join(
                    f"{mark} p50 {pct(ms, 0.5):.1f} / p95 {pct(ms, 0.95):.1f} ms"
                    for mark, ms in marks.items()
                    if ms
                )
            )
    finally:
        stack.stop()
        drop_database(db_url)
        print(f"(logs in {log_dir})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100, help="sequential create+join samples")
    parser.add_argument("--runs", type=int, default=160, help="runs per throughput round")
    parser.add_argument("--rollbacks", type=int, default=10)
    parser.add_argument("--streams", type=int, default=30, help="runs.stream samples per graph")
    parser.add_argument(
        "--concurrency", type=int, default=int(os.environ.get("SPINDLE_WORKER_CONCURRENCY", "2"))
    )
    asyncio.run(main(parser.parse_args()))
