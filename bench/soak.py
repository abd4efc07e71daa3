"""A bounded soak: random double texting (all four strategies, agent runs that wait like
real ones) against a private stack, while workers are killed with SIGKILL and Redis is
restarted at random; then the run engine's invariants are checked in the database.

Private services: a redis-server of its own on a free port, a PostgreSQL database of its
own (on the server of DATABASE_URL), uvicorn, two Celery workers and the sweeper. Usage:
`make soak` (SOAK_SECONDS=120 make soak for a short one); exits 1 if an invariant broke.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from langgraph_sdk import get_client

from tests.e2e.stack import RedisServer, Stack, private_stack

STRATEGIES = ("reject", "enqueue", "interrupt", "rollback")
WORKERS = ("worker-a", "worker-b")

# Each a single statement, so it reads one consistent snapshot while the stack runs:
# every change of a thread's runs commits under the thread's lock.
INVARIANTS = {
    "threads with two running runs": (
        "SELECT count(*) FROM (SELECT thread_id FROM runs_run WHERE status = 'running'"
        " GROUP BY thread_id HAVING count(*) > 1) AS twice"
    ),
    "threads busy without an active run, or active and not busy": (
        "SELECT count(*) FROM threads_thread t WHERE (t.status = 'busy') <> EXISTS"
        " (SELECT 1 FROM runs_run r WHERE r.thread_id = t.thread_id AND r.status IN ('pending', 'running'))"
    ),
    "checkpoint rows of deleted runs": "SELECT "
    + " + ".join(
        f"(SELECT count(*) FROM {table} c WHERE c.run_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM runs_run r WHERE r.run_id::text = c.run_id))"
        for table in ("threads_checkpoint", "threads_checkpointblob", "threads_checkpointwrite")
    ),
}
STUCK = "SELECT count(*) FROM runs_run WHERE status IN ('pending', 'running')"


class Soak:
    def __init__(
        self, stack: Stack, redis_server: RedisServer, *, threads: int, clients: int
    ) -> None:
        self.stack = stack
        self.redis = redis_server
        self.threads: list[str] = []
        self.n_threads = threads
        self.clients = clients
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.violations: Counter[str] = Counter()
        self.samples = 0
        self.stop = asyncio.Event()

    async def texting(self, seed: int) -> None:
        """One client: runs on random threads with random strategies, sometimes two at once."""
        rng = random.Random(seed)
        client = get_client(url=self.stack.url, timeout=30)
        while not self.stop.is_set():
            tid = rng.choice(self.threads)
            burst = 2 if rng.random() < 0.3 else 1
            await asyncio.gather(*(self.create(client, tid, rng) for _ in range(burst)))
            await asyncio.sleep(rng.uniform(0.05, 0.6))

    async def create(self, client: Any, tid: str, rng: random.Random) -> None:
        strategy = rng.choice(STRATEGIES)
        delay = round(rng.uniform(0.05, 0.8), 2)
        try:
            await client.runs.create(
                tid,
                "agent",
                input={"messages": [{"role": "human", "content": "weather in sf?"}]},
                config={"configurable": {"delay": delay}},
                multitask_strategy=strategy,
            )
            self.requests[f"created ({strategy})"] += 1
        except httpx.HTTPStatusError as exc:
            self.requests[f"answered {exc.response.status_code}"] += 1
        except httpx.HTTPError as exc:
            self.requests[f"failed ({type(exc).__name__})"] += 1

    async def chaos(self, seed: int, every: tuple[float, float]) -> None:
        """Now and then: SIGKILL a worker (master, pool and all) and start it again, or
        restart Redis."""
        rng = random.Random(seed)
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=rng.uniform(*every))
                return
            except TimeoutError:
                pass
            if rng.random() < 0.5:
                name = rng.choice(WORKERS)
                await asyncio.to_thread(self.stack.kill, name, signal.SIGKILL)
                self.faults["worker killed (-9)"] += 1
                await asyncio.sleep(rng.uniform(0.5, 3))
                await asyncio.to_thread(self.stack.start_worker, name)
            else:
                await asyncio.to_thread(self.redis.stop)
                self.faults["redis restarted"] += 1
                await asyncio.sleep(rng.uniform(0.2, 2))
                await asyncio.to_thread(self.redis.start)

    async def watch(self) -> None:
        """Check the invariants that must hold at every moment, once a second."""
        while not self.stop.is_set():
            await asyncio.to_thread(self.check, ("threads with two running runs",))
            await asyncio.sleep(1)

    def check(self, names: tuple[str, ...]) -> None:
        for name in names:
            [(count,)] = self.stack.sql(INVARIANTS[name])
            self.violations[name] += int(count)
        self.samples += 1

    async def run(self, seconds: float, chaos_every: tuple[float, float]) -> int:
        client = get_client(url=self.stack.url, timeout=30)
        self.threads = [(await client.threads.create())["thread_id"] for _ in range(self.n_threads)]
        started = time.monotonic()
        tasks = [asyncio.create_task(self.texting(seed)) for seed in range(self.clients)]
        tasks += [
            asyncio.create_task(self.chaos(1000, chaos_every)),
            asyncio.create_task(self.watch()),
        ]
        await asyncio.sleep(seconds)
        self.stop.set()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started

        # Quiet: every run must end (the sweeper and the workers finish what the faults left).
        settle_started = time.monotonic()
        while (stuck := self.stack.sql(STUCK)[0][0]) and time.monotonic() - settle_started < 120:
            await asyncio.sleep(0.5)
        settled = time.monotonic() - settle_started
        self.check(tuple(INVARIANTS))

        print(f"soak: {elapsed:.0f}s of load, {self.clients} clients on {self.n_threads} threads")
        for name, count in sorted(self.requests.items()):
            print(f"  requests {name}: {count}")
        for name, count in sorted(self.faults.items()):
            print(f"  faults {name}: {count}")
        for status, count in self.stack.sql(
            "SELECT status, count(*) FROM runs_run GROUP BY status ORDER BY status"
        ):
            print(f"  runs {status}: {count}")
        [(lost,)] = self.stack.sql(
            "SELECT count(*) FROM runs_run WHERE error->>'error' = 'WorkerLost'"
        )
        print(f"  runs ended as WorkerLost: {lost}")
        print(
            f"  settled {settled:.1f}s after the load stopped; runs still pending or running: {stuck}"
        )
        print(f"  invariant checks: {self.samples}")
        for name in INVARIANTS:
            print(f"  violations, {name}: {self.violations[name]}")
        return 1 if stuck or any(self.violations.values()) else 0


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600"))
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument(
        "--chaos-min", type=float, default=8.0, help="least seconds between two faults"
    )
    parser.add_argument(
        "--chaos-max", type=float, default=20.0, help="most seconds between two faults"
    )
    args = parser.parse_args()

    log_dir = Path(tempfile.mkdtemp(prefix="spindle-soak-"))
    with private_stack("soak", log_dir) as (stack, redis_server):
        stack.start_web()
        for name in WORKERS:
            stack.start_worker(name)
        stack.start_sweeper()
        code = await Soak(stack, redis_server, threads=args.threads, clients=args.clients).run(
            args.seconds, (args.chaos_min, args.chaos_max)
        )
    print(f"  logs: {log_dir}")
    return code


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
