"""`python -m config.worker`: Celery's command line without its REPL library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import config.worker
config.worker.without_repl()
from celery.bin.celery import celery
print(sorted(celery.commands))
print("prompt_toolkit" in sys.modules, "amqp" in celery.commands and "repl" in celery.commands["amqp"].commands)
"""


def test_celerys_commands_without_the_repl_library() -> None:
    found = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr
    commands, loaded = found.stdout.strip().splitlines()
    for name in ("worker", "beat", "inspect", "control", "purge", "amqp"):
        assert f"'{name}'" in commands
    # Neither the library nor the one subcommand that needs it.
    assert loaded == "False False"


def test_the_worker_subcommand_answers() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "config.worker", "-A", "config", "worker", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    assert "--concurrency" in found.stdout and "--without-mingle" in found.stdout


def test_the_worker_parses_prctls_declaration_before_forking() -> None:
    # In a process of its own: cffi's parser, once built, stays for the process.
    probe = (
        "import sys; from config.celery import _parse_prctl_once; from cffi import cparser;"
        "assert cparser._parser_cache is None; _parse_prctl_once();"
        "print(sys.platform.startswith('linux') == (cparser._parser_cache is not None))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "True"
