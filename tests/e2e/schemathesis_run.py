"""Schemathesis over a live stack's /openapi.json, and what a run of it must leave behind: no
run stuck, no thread busy without a run. Used by the suite (few examples) and by
`make schemathesis` (many)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stack import ROOT, Stack

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Thread streams follow a thread until the client leaves: nothing for a fuzzer to wait on.
EXCLUDE_PATH = "/threads/{thread_id}/stream"
# Per-operation settings: a short read of the protocol event stream, also endless.
CONFIG = Path(__file__).with_name("schemathesis.toml")
ACTIVE = "('pending', 'running')"
# A run created with after_seconds waits for its due time: not stuck before then.
DUE = "(due_at is null or due_at <= now())"


@dataclass
class FuzzResult:
    operations: int
    examples: int
    failures: list[dict]
    errors: list[dict]
    returncode: int
    output: str

    def summary(self) -> str:
        return (
            f"{self.operations} operations, {self.examples} examples, {len(self.failures)} failures"
        )


def run_schemathesis(
    stack: Stack,
    *,
    examples: int,
    report_dir: Path,
    phases: str = "examples,coverage,fuzzing",
    seed: int | None = None,
) -> FuzzResult:
    report = report_dir / "schemathesis.json"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{stack.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--phases",
        phases,
        "--exclude-path",
        EXCLUDE_PATH,
        "--request-timeout",
        "30",
        "--workers",
        "2",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    data = json.loads(report.read_text()) if report.exists() else {}
    return FuzzResult(
        operations=int(data.get("operations", {}).get("tested", 0)),
        examples=int(data.get("test_cases", {}).get("generated", 0)),
        failures=list(data.get("failures", [])),
        errors=list(data.get("errors", [])),
        returncode=done.returncode,
        output=done.stdout[-20000:] + done.stderr[-5000:],
    )


def leftovers(stack: Stack, *, timeout: float = 120) -> dict[str, list[tuple]]:
    """Wait for the runs the fuzzer started to end, then what is still wrong: runs still
    pending or running (but for those created with a delay that has not passed yet), and
    busy threads with no active run."""
    stuck = f"select run_id, status, created_at from runs_run where status in {ACTIVE} and {DUE}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not stack.sql(f"{stuck} limit 1"):
            break
        time.sleep(0.5)
    return {
        "active_runs": stack.sql(stuck),
        "busy_threads_without_runs": stack.sql(
            "select t.thread_id from threads_thread t where t.status = 'busy' and not exists"
            f" (select 1 from runs_run r where r.thread_id = t.thread_id and r.status in {ACTIVE})"
        ),
    }
