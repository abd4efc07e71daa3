"""The admin in a real headless browser (Debian's Chromium driven by Playwright) against a real
stack: styled pages, a running agent run rolled back from its page, a finished run deleted from
the list, a thread deleted, a conversation read, a graph drawn. Screenshots go to
artifacts/admin/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("SPINDLE_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "admin"
QUESTION = "whats the weather in sf?"
# The admin CSS (base.css) paints the header with --header-bg, #417690; an unstyled page
# leaves it transparent.
HEADER_BG = "rgb(65, 118, 144)"


@pytest.fixture(scope="module")
def browser_page(stack: Stack) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure-browser.sh)")
    from playwright.sync_api import sync_playwright

    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "createsuperuser",
            "--no-input",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
        ],
        cwd=ROOT,
        env={**stack.env, "DJANGO_SUPERUSER_PASSWORD": "pw"},
        check=True,
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{stack.url}/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def sdk(stack: Stack):
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=stack.url, timeout=60)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _messages(page) -> list[str]:
    return [m.inner_text() for m in page.query_selector_all("ul.messagelist li")]


def _finished_run(sdk, delay: float = 0.05) -> tuple[str, str]:
    thread = sdk.threads.create()
    run = sdk.runs.create(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "human", "content": QUESTION}]},
        config={"configurable": {"delay": delay}},
    )
    sdk.runs.join(thread["thread_id"], run["run_id"])
    return thread["thread_id"], run["run_id"]


def _checkpoints_of_run(stack: Stack, run_id: str) -> int:
    return stack.sql("select count(*) from threads_checkpoint where owner_run_id = %s", run_id)[0][
        0
    ]


def test_admin_pages_are_styled(browser_page, stack: Stack) -> None:
    page = browser_page
    page.goto(f"{stack.url}/admin/")
    _shot(page, "01-index")
    assert page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor") == HEADER_BG
    # The admin's JavaScript came too (jquery.init.js defines window.django on list pages).
    page.goto(f"{stack.url}/admin/runs/run/")
    assert page.evaluate("() => typeof window.django.jQuery") == "function"


def test_a_running_run_is_rolled_back_from_its_page(browser_page, stack: Stack, sdk) -> None:
    page = browser_page
    thread = sdk.threads.create()
    run = sdk.runs.create(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "human", "content": QUESTION}]},
        config={"configurable": {"delay": 30}},
    )
    run_id = run["run_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        sdk.runs.get(thread["thread_id"], run_id)["status"] != "running"
        or not _checkpoints_of_run(stack, run_id)
    ):
        time.sleep(0.1)
    assert sdk.runs.get(thread["thread_id"], run_id)["status"] == "running"
    written = _checkpoints_of_run(stack, run_id)
    assert written >= 1, "the running run has checkpoints bound to it"

    page.goto(f"{stack.url}/admin/runs/run/{run_id}/change/")
    assert "Running" in page.inner_text("div.field-status")
    assert "step -1 (input)" in page.inner_text("div.field-checkpoints"), (
        "the run's first checkpoint is linked"
    )
    _shot(page, "02-running-run")
    page.click("a.deletelink")
    assert "will be rolled back" in page.inner_text("#content")
    _shot(page, "03-rollback-confirm")
    page.click("input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    _shot(page, "04-rolled-back")
    assert any(
        m.startswith("Rolled back and deleted 1 run,") and f"{written} checkpoint" in m
        for m in _messages(page)
    ), _messages(page)

    assert stack.sql("select count(*) from runs_run where run_id = %s", run_id) == [(0,)]
    for table in ("threads_checkpoint", "threads_checkpointwrite", "threads_checkpointblob"):
        assert stack.sql(f"select count(*) from {table} where run_id = %s", run_id) == [(0,)], table
    page.goto(f"{stack.url}/admin/runs/run/?q={run_id}")
    assert "0 runs" in page.inner_text("#changelist-form") or not page.query_selector(
        "#result_list"
    )
    # The worker was told to stop and the thread moves on.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sdk.threads.get(thread["thread_id"])["status"] != "idle":
        time.sleep(0.2)
    assert sdk.threads.get(thread["thread_id"])["status"] == "idle"


def test_a_finished_run_is_deleted_from_the_list(browser_page, stack: Stack, sdk) -> None:
    page = browser_page
    thread_id, run_id = _finished_run(sdk)
    written = _checkpoints_of_run(stack, run_id)
    assert written >= 4, "an agent run that called a tool leaves several checkpoints"

    page.goto(f"{stack.url}/admin/runs/run/?thread_id={thread_id}")
    row = page.locator("#result_list tbody tr", has_text=run_id)
    assert "Success" in row.inner_text()
    assert "agent" in row.inner_text()
    _shot(page, "05-runs-list")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "delete_selected")
    page.click("button[name=index]")
    assert f"Checkpoints: {written}" in page.inner_text("#content")
    _shot(page, "06-delete-confirm")
    page.click("input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    _shot(page, "07-deleted")
    assert any(f"Deleted 1 run, {written} checkpoints" in m for m in _messages(page)), _messages(
        page
    )
    assert stack.sql("select count(*) from runs_run where run_id = %s", run_id) == [(0,)]
    assert stack.sql("select count(*) from threads_checkpoint where run_id = %s", run_id) == [(0,)]


def test_a_thread_shows_its_messages_and_is_deleted(browser_page, stack: Stack, sdk) -> None:
    page = browser_page
    thread_id, run_id = _finished_run(sdk)
    page.goto(f"{stack.url}/admin/threads/thread/{thread_id}/change/")
    _shot(page, "08-thread")
    rows = page.query_selector_all("tr.spindle-message")
    conversation = [
        (
            r.query_selector(".spindle-role").inner_text(),
            r.query_selector(".spindle-text").inner_text(),
        )
        for r in rows
    ]
    assert conversation[0] == ("human", QUESTION)
    assert conversation[-1] == ("ai", "The weather in sf is sunny and 72 degrees.")
    assert ("tool", "Search result for 'weather in sf': sunny, 72F.") in conversation
    assert run_id in page.inner_text("div.field-runs")

    page.click("a.deletelink")
    page.click("input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    _shot(page, "09-thread-deleted")
    assert any("Deleted the thread with 1 run," in m for m in _messages(page)), _messages(page)
    assert stack.sql("select count(*) from threads_thread where thread_id = %s", thread_id) == [
        (0,)
    ]
    assert stack.sql("select count(*) from runs_run where thread_id = %s", thread_id) == [(0,)]
    assert stack.sql("select count(*) from threads_checkpoint where thread_id = %s", thread_id) == [
        (0,)
    ]


def test_a_checkpoint_shows_its_decoded_values(browser_page, stack: Stack, sdk) -> None:
    page = browser_page
    thread_id, run_id = _finished_run(sdk)
    page.goto(f"{stack.url}/admin/threads/checkpoint/?run_id={run_id}")
    _shot(page, "10-checkpoints-of-run")
    page.click("#result_list tbody tr:first-child th a")
    _shot(page, "11-checkpoint")
    assert QUESTION in page.inner_text("div.field-values_messages")
    assert '"messages"' in page.inner_text("div.field-decoded_values")


def test_an_assistant_graph_is_drawn_offline(browser_page, stack: Stack, sdk) -> None:
    page = browser_page
    assistant = sdk.assistants.search(graph_id="agent", limit=1)[0]
    page.goto(f"{stack.url}/admin/assistants/assistant/{assistant['assistant_id']}/change/")
    page.wait_for_selector("pre.mermaid svg")
    _shot(page, "12-assistant-graph")
    labels = page.eval_on_selector("pre.mermaid svg", "e => e.textContent")
    assert "agent" in labels and "tools" in labels


def test_static_files_are_served_by_uvicorn(stack: Stack) -> None:
    import httpx

    css = httpx.get(f"{stack.url}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    mermaid = httpx.get(f"{stack.url}/static/assistants/mermaid.min.js", timeout=10)
    assert mermaid.status_code == 200 and b'globalThis["mermaid"]' in mermaid.content
    assert httpx.get(f"{stack.url}/static/admin/css/nope.css", timeout=10).status_code == 404
