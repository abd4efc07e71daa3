"""Every management command run as an operator runs it: a subprocess against the real database
of a real stack, on runs that really executed, with no terminal (stdin closed), with wrong ids,
and with partial failures."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from django.core.management import get_commands, load_command_class

from tests.e2e.stack import ROOT, Stack, private_stack

pytestmark = pytest.mark.e2e

QUESTION = "whats the weather in sf?"
SPINDLE_COMMANDS = {
    "cancel_run": True,
    "delete_run": True,
    "delete_thread": True,
    "prune_threads": True,
    "purge_runs": True,
    "stuck_runs": True,
    "show_thread": False,
    "sweep_runs": False,
    "ensure_assistants": False,
    "serve": False,
}


def manage(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` as cron or a script runs it: no terminal, stdin closed."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=stack.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def sdk(stack: Stack):
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=stack.url, timeout=60)


def finished_run(
    sdk, *, metadata: dict | None = None, thread_id: str | None = None
) -> tuple[str, str]:
    thread_id = thread_id or sdk.threads.create(metadata=metadata)["thread_id"]
    run = sdk.runs.create(
        thread_id,
        "agent",
        input={"messages": [{"role": "human", "content": QUESTION}]},
        config={"configurable": {"delay": 0.01}},
        metadata=metadata,
    )
    sdk.runs.join(thread_id, run["run_id"])
    assert sdk.runs.get(thread_id, run["run_id"])["status"] == "success"
    return thread_id, run["run_id"]


def rows(stack: Stack, table: str, column: str, value: str) -> int:
    return stack.sql(f"select count(*) from {table} where {column} = %s", value)[0][0]


# --- help ---------------------------------------------------------------------------


def test_every_argument_has_help_and_destructive_commands_take_no_input() -> None:
    commands = get_commands()
    for name, destructive in SPINDLE_COMMANDS.items():
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        ours = [
            a
            for a in parser._actions
            if a.dest
            not in {
                "help",
                "version",
                "verbosity",
                "settings",
                "pythonpath",
                "traceback",
                "no_color",
                "force_color",
                "skip_checks",
            }
        ]
        for action in ours:
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        flags = {flag for action in ours for flag in action.option_strings}
        assert ({"--noinput", "--no-input"} <= flags) == destructive, (name, flags)


def test_help_is_printed_for_a_subprocess(stack: Stack) -> None:
    result = manage(stack, "purge_runs", "--help")
    assert result.returncode == 0
    for option in (
        "--older-than",
        "--status",
        "--metadata",
        "--batch-size",
        "--no-input",
        "--dry-run",
    ):
        assert option in result.stdout


# --- delete_run, delete_thread, cancel_run -----------------------------------------------


def test_delete_run_refuses_without_a_terminal_and_keeps_everything(stack: Stack, sdk) -> None:
    thread_id, run_id = finished_run(sdk)
    result = manage(stack, "delete_run", thread_id, run_id)
    assert_clean_failure(result)
    assert "Pass --no-input" in result.stderr
    assert rows(stack, "runs_run", "run_id", run_id) == 1


def test_delete_run_reports_counts_on_partial_failure(stack: Stack, sdk) -> None:
    thread_id, run_id = finished_run(sdk)
    _, other_run = finished_run(sdk, thread_id=thread_id)
    checkpoints = rows(stack, "threads_checkpoint", "owner_run_id", run_id)
    assert checkpoints >= 4
    conversation = [m["content"] for m in sdk.threads.get_state(thread_id)["values"]["messages"]]
    unknown = str(uuid.uuid4())
    result = manage(stack, "delete_run", thread_id, run_id, unknown, "--noinput")
    assert_clean_failure(result)
    assert f"Deleted 1 run, {checkpoints} checkpoints" in result.stdout
    assert f"run {unknown}: Run not found" in result.stderr
    assert rows(stack, "runs_run", "run_id", run_id) == 0
    assert rows(stack, "threads_checkpoint", "run_id", run_id) == 0
    assert rows(stack, "runs_run", "run_id", other_run) == 1, "the other run of the thread stays"
    # The later run's checkpoints still read the values the deleted run's steps had written.
    state = sdk.threads.get_state(thread_id)
    assert [m["content"] for m in state["values"]["messages"]] == conversation


def test_wrong_ids_are_a_clear_error(stack: Stack, sdk) -> None:
    malformed = manage(stack, "delete_thread", "not-a-uuid", "--no-input")
    assert_clean_failure(malformed, code=2)
    assert "invalid" in malformed.stderr and "not-a-uuid" in malformed.stderr
    unknown = str(uuid.uuid4())
    for args in (
        ("delete_thread", unknown, "--no-input"),
        ("show_thread", unknown),
        ("cancel_run", unknown, str(uuid.uuid4())),
    ):
        result = manage(stack, *args)
        assert_clean_failure(result)
        assert "not found" in result.stderr.lower(), result.stderr


def test_delete_thread_counts_and_partial_failure(stack: Stack, sdk) -> None:
    thread_id, run_id = finished_run(sdk)
    checkpoints = rows(stack, "threads_checkpoint", "thread_id", thread_id)
    refused = manage(stack, "delete_thread", thread_id)
    assert_clean_failure(refused)
    assert rows(stack, "threads_thread", "thread_id", thread_id) == 1

    unknown = str(uuid.uuid4())
    result = manage(stack, "delete_thread", thread_id, unknown, "--no-input")
    assert_clean_failure(result)
    assert f"Deleted 1 thread with 1 run, {checkpoints} checkpoints" in result.stdout
    assert f"thread {unknown}" in result.stderr
    assert rows(stack, "threads_thread", "thread_id", thread_id) == 0
    assert rows(stack, "threads_checkpoint", "thread_id", thread_id) == 0


def running_run(sdk, thread_id: str) -> str:
    run = sdk.runs.create(
        thread_id,
        "agent",
        input={"messages": [{"role": "human", "content": QUESTION}]},
        config={"configurable": {"delay": 30}},
    )
    deadline = time.monotonic() + 30
    while (
        sdk.runs.get(thread_id, run["run_id"])["status"] != "running"
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert sdk.runs.get(thread_id, run["run_id"])["status"] == "running"
    return run["run_id"]


def test_cancel_run_interrupts_and_rolls_back_a_running_run(stack: Stack, sdk) -> None:
    thread_id = sdk.threads.create()["thread_id"]
    first = running_run(sdk, thread_id)
    interrupted = manage(stack, "cancel_run", thread_id, first)
    assert interrupted.returncode == 0, interrupted.stderr
    assert interrupted.stdout.strip() == f"Run {first}: interrupt requested"
    sdk.runs.join(thread_id, first)
    assert sdk.runs.get(thread_id, first)["status"] == "interrupted"

    second = running_run(sdk, thread_id)
    refused = manage(stack, "cancel_run", thread_id, second, "--action", "rollback")
    assert_clean_failure(refused)
    assert sdk.runs.get(thread_id, second)["status"] == "running"
    result = manage(stack, "cancel_run", thread_id, second, "--action", "rollback", "--no-input")
    assert result.returncode == 0, result.stderr
    assert rows(stack, "runs_run", "run_id", second) == 0
    assert rows(stack, "threads_checkpoint", "run_id", second) == 0
    assert rows(stack, "threads_checkpoint", "run_id", first) >= 1, (
        "the interrupted run keeps its checkpoints"
    )


# --- purge_runs -----------------------------------------------------------------------


def test_purge_runs_selects_by_metadata_and_status_in_batches(stack: Stack, sdk) -> None:
    tag = uuid.uuid4().hex
    made = [finished_run(sdk, metadata={"purge": tag}) for _ in range(3)]
    kept = finished_run(sdk, metadata={"purge": "other"})
    checkpoints = sum(
        rows(stack, "threads_checkpoint", "owner_run_id", run_id) for _, run_id in made
    )

    dry = manage(stack, "purge_runs", "--metadata", f"purge={tag}", "--dry-run")
    assert dry.returncode == 0 and "3 runs match; nothing done." in dry.stdout
    none = manage(
        stack, "purge_runs", "--metadata", f"purge={tag}", "--status", "error", "--no-input"
    )
    assert none.returncode == 0 and "0 runs match" in none.stdout
    refused = manage(stack, "purge_runs", "--metadata", f"purge={tag}")
    assert_clean_failure(refused)

    result = manage(
        stack,
        "purge_runs",
        "--metadata",
        f"purge={tag}",
        "--older-than",
        "0s",
        "--batch-size",
        "2",
        "--no-input",
    )
    assert result.returncode == 0, result.stderr
    assert f"Deleted 3 runs, {checkpoints} checkpoints" in result.stdout
    for thread_id, run_id in made:
        assert rows(stack, "runs_run", "run_id", run_id) == 0
        assert rows(stack, "threads_checkpoint", "run_id", run_id) == 0
        assert sdk.threads.get(thread_id)["status"] == "idle"
    assert rows(stack, "runs_run", "run_id", kept[1]) == 1


def test_purge_runs_goes_on_past_a_locked_thread_and_counts(stack: Stack, sdk) -> None:
    tag = uuid.uuid4().hex
    made = [finished_run(sdk, metadata={"purge": tag}) for _ in range(3)]
    locked_thread, locked_run = made[1]
    with psycopg.connect(stack.db_url) as other:
        # Another writer holds the thread (as a long request would): its batch times out.
        other.execute(
            "select 1 from threads_thread where thread_id = %s for update", (locked_thread,)
        )
        result = manage(
            stack,
            "purge_runs",
            "--metadata",
            f"purge={tag}",
            "--batch-size",
            "1",
            "--lock-timeout",
            "1",
            "--no-input",
        )
        other.rollback()
    assert_clean_failure(result)
    assert "Deleted 2 runs," in result.stdout and "(3 matched)" in result.stdout
    assert "lock timeout" in result.stderr
    assert rows(stack, "runs_run", "run_id", locked_run) == 1
    assert rows(stack, "threads_checkpoint", "run_id", locked_run) >= 1, (
        "the failed batch rolled back whole"
    )
    for _, run_id in (made[0], made[2]):
        assert rows(stack, "runs_run", "run_id", run_id) == 0


def test_purge_runs_shows_a_progress_bar_on_a_terminal(stack: Stack, sdk) -> None:
    tag = uuid.uuid4().hex
    for _ in range(2):
        finished_run(sdk, metadata={"purge": tag})
    primary, secondary = pty.openpty()
    # A terminal 120 columns wide (a fresh pty reports 0, where tqdm draws nothing).
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "purge_runs",
            "--metadata",
            f"purge={tag}",
            "--batch-size",
            "1",
            "--no-input",
        ],
        cwd=ROOT,
        env=stack.env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(primary)
    assert proc.wait(timeout=30) == 0
    text = output.decode(errors="replace")
    assert "| 0/2 [" in text and "run/s" in text, text
    assert "Deleted 2 runs," in text


# --- prune_threads ----------------------------------------------------------------------


def test_prune_threads_by_metadata_status_and_age(stack: Stack, sdk) -> None:
    tag = uuid.uuid4().hex
    old = [finished_run(sdk, metadata={"prune": tag})[0] for _ in range(2)]
    fresh = finished_run(sdk, metadata={"prune": tag})[0]
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        # Two of them last changed two hours ago (waiting that long is not a test).
        conn.execute(
            "update threads_thread set updated_at = now() - interval '2 hours' where thread_id = any(%s)",
            ([uuid.UUID(t) for t in old],),
        )

    result = manage(
        stack,
        "prune_threads",
        "--metadata",
        f"prune={tag}",
        "--status",
        "idle",
        "--idle-for",
        "1h",
        "--batch-size",
        "1",
        "--no-input",
    )
    assert result.returncode == 0, result.stderr
    assert "Pruned 2 threads of 2 (delete): deleted 2 runs," in result.stdout
    for thread_id in old:
        assert rows(stack, "threads_thread", "thread_id", thread_id) == 0
        assert rows(stack, "threads_checkpoint", "thread_id", thread_id) == 0
    assert rows(stack, "threads_thread", "thread_id", fresh) == 1

    before = rows(stack, "threads_checkpoint", "thread_id", fresh)
    assert before > 1
    kept = manage(stack, "prune_threads", fresh, "--strategy", "keep_latest", "--no-input")
    assert kept.returncode == 0, kept.stderr
    assert rows(stack, "threads_checkpoint", "thread_id", fresh) == 1
    state = sdk.threads.get_state(fresh)
    assert [m["content"] for m in state["values"]["messages"]][0] == QUESTION

    nothing = manage(stack, "prune_threads", "--no-input")
    assert_clean_failure(nothing)
    assert "Choose the threads" in nothing.stderr


# --- show_thread -----------------------------------------------------------------------


def test_show_thread_prints_state_and_last_runs(stack: Stack, sdk) -> None:
    thread_id, run_id = finished_run(sdk)
    result = manage(stack, "show_thread", thread_id)
    assert result.returncode == 0, result.stderr
    assert "status:   idle" in result.stdout
    assert f"human: {QUESTION}" in result.stdout
    assert "ai: The weather in sf is sunny and 72 degrees." in result.stdout
    assert run_id in result.stdout and "success" in result.stdout
    as_json = json.loads(manage(stack, "show_thread", thread_id, "--json").stdout)
    assert as_json["messages"][0] == {"role": "human", "text": QUESTION}
    assert [r["run_id"] for r in as_json["runs"]] == [run_id]


# --- stuck_runs, sweep_runs: a stack whose worker is down ---------------------------------------


@pytest.fixture
def stalled(tmp_path) -> Iterator[Stack]:
    """A web process and a private Redis, with a worker only when the test starts one."""
    with private_stack("stuck", tmp_path, env={"SPINDLE_STALE_AFTER_SECONDS": "2"}) as (s, _):
        s.start_web()
        yield s


def test_stuck_runs_reports_and_fixes(stalled: Stack) -> None:
    from langgraph_sdk import get_sync_client

    sdk = get_sync_client(url=stalled.url, timeout=60)
    # A run whose worker died in the middle of it (killed: no heartbeat, no end).
    blocked = sdk.threads.create()
    lost = sdk.runs.create(
        blocked["thread_id"],
        "sleeper",
        input={"messages": []},
        config={"configurable": {"sleep": 60}},
    )
    stalled.start_worker("doomed", beat=False, concurrency=1)
    deadline = time.monotonic() + 30
    while (
        sdk.runs.get(blocked["thread_id"], lost["run_id"])["status"] != "running"
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    stalled.kill("doomed")
    # Runs created while no worker was up: their messages were consumed by nobody, then lost.
    waiting = sdk.threads.create()
    pending = sdk.runs.create(
        waiting["thread_id"],
        "agent",
        input={"messages": [{"role": "human", "content": QUESTION}]},
        config={"configurable": {"delay": 0.01}},
    )
    redis.Redis.from_url(
        stalled.env["REDIS_URL"]
    ).flushall()  # the private server's, not the shared one
    # A thread left busy with no run (what a crash between two writes would leave).
    idle = sdk.threads.create()
    with psycopg.connect(stalled.db_url, autocommit=True) as conn:
        conn.execute(
            "update threads_thread set status = 'busy' where thread_id = %s", (idle["thread_id"],)
        )
    time.sleep(2.5)

    report = manage(stalled, "stuck_runs", "--pending-for", "1s", "--silent-for", "2s")
    assert report.returncode == 0, report.stderr
    assert f"pending  run {pending['run_id']}" in report.stdout
    assert f"silent   run {lost['run_id']}" in report.stdout
    assert f"busy     thread {idle['thread_id']}" in report.stdout
    assert "1 pending run older than 0:00:01, 1 silent running run, 1 busy thread" in report.stdout

    refused = manage(stalled, "stuck_runs", "--pending-for", "1s", "--silent-for", "2s", "--fix")
    assert_clean_failure(refused)
    assert sdk.threads.get(idle["thread_id"])["status"] == "busy", (
        "nothing fixed without confirmation"
    )

    stalled.start_worker("worker", beat=False, concurrency=1)
    fixed = manage(
        stalled, "stuck_runs", "--pending-for", "1s", "--silent-for", "2s", "--fix", "--no-input"
    )
    assert fixed.returncode == 0, fixed.stderr
    assert (
        "Fixed: 1 run dispatched again (0 still waiting their turn), 1 run ended as error, 1 thread settled."
        in fixed.stdout
    )
    sdk.runs.join(waiting["thread_id"], pending["run_id"])
    assert sdk.runs.get(waiting["thread_id"], pending["run_id"])["status"] == "success"
    assert sdk.runs.get(blocked["thread_id"], lost["run_id"])["status"] == "error"
    assert sdk.threads.get(idle["thread_id"])["status"] == "idle"

    clean = manage(stalled, "stuck_runs", "--pending-for", "1s")
    assert (
        "0 pending runs older than 0:00:01, 0 silent running runs, 0 busy threads" in clean.stdout
    )
    swept = manage(stalled, "sweep_runs")
    assert (
        swept.returncode == 0
        and swept.stdout.strip() == "0 lost runs ended, 0 pending runs re-dispatched"
    )
