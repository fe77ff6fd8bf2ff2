"""The built-in dashboard in a real Chromium against a real daemon: views, launch, live updates, restarts."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Console, dashboard_root, ready
from tests.helpers import FIXTURES, Daemon, atomic_drop, eventually, http, write_stub_runner

pytestmark = pytest.mark.e2e

VIEWS = ("runs", "launch", "compare", "benchmarks", "health")


def test_page_is_served_with_csp_and_every_view_has_its_own_url(daemon: Daemon, page: Any) -> None:
    """`/` answers the page under `default-src 'self'`; each view loads from its URL and back/forward walk them."""
    status, _, headers = http("GET", f"{daemon.url}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    page.goto(f"{daemon.url}/")
    ready(page, "runs")
    for view in VIEWS[1:]:
        page.click(f"#nav a[data-view='{view}']")
        ready(page, view)
        assert page.url.endswith(f"#/{view}")
    page.go_back()
    ready(page, "benchmarks")
    page.go_back()
    ready(page, "compare")
    page.go_forward()
    ready(page, "benchmarks")
    page.go_forward()
    ready(page, "health")
    assert page.inner_text("dl.health").count("ok") >= 3  # database, watcher, writer
    page.goto(f"{daemon.url}/#/benchmarks/001-sol-transfer")  # a deep link
    ready(page, "benchmarks")
    assert "id: 001-sol-transfer" in page.inner_text("pre")


@pytest.mark.parametrize("fragment", ["constructor", "__proto__", "%E0", "toString/x"])
def test_crafted_links_fall_back_to_the_runs_view(daemon: Daemon, page: Any, fragment: str) -> None:
    """A link naming an Object.prototype member or a malformed escape shows the runs view, with no page error."""
    page.goto(f"{daemon.url}/#/{fragment}")
    ready(page, "runs")


def test_launch_001_from_the_page_reaches_completed_and_shows_its_details(daemon: Daemon, page: Any) -> None:
    """Launching 001 from the page opens its execution, which turns Completed without a reload and shows trace, events and transaction logs."""
    page.goto(f"{daemon.url}/#/launch?benchmark=001-sol-transfer")
    ready(page, "launch")
    page.evaluate("window.notReloaded = true")
    assert page.is_checked("#benchmark-001-sol-transfer") and page.is_checked("#agent-deterministic")
    page.click("form.launch button[type=submit]")
    page.wait_for_url(re.compile(r"#/executions/[\w-]+$"))
    execution_id = page.url.rsplit("/", 1)[-1]
    page.wait_for_selector(".card .badge.status-completed")
    assert page.evaluate("window.notReloaded") is True
    assert daemon.execution(execution_id)["status"] == "Completed"  # type: ignore[index]

    assert page.inner_text(".card.scored .value") == "1.000"
    page.wait_for_selector("#panel-events li.ev-sessioncomplete")
    types = page.eval_on_selector_all("#panel-events li.ev", "els => els.map(e => e.querySelector('.ev-type').textContent)")
    assert types[0] == "Prompt" and "ToolInput" in types and types[-1] == "SessionComplete"
    assert "Result: Succeeded" in (page.text_content("svg.flow") or "")
    assert page.locator("table.assertions tr.pass").count() >= 1 and page.locator("table.assertions tr.fail").count() == 0

    page.click("#tab-trace")
    page.wait_for_selector("#panel-trace pre.trace")
    trace = page.inner_text("#panel-trace")
    assert "Step 1" in trace and "✅" in trace
    assert page.url.endswith("?tab=trace")  # the tab is part of the link
    page.click("#tab-txlogs")
    page.wait_for_selector("#panel-txlogs pre.txlogs")
    logs = page.inner_text("#panel-txlogs")
    assert "Step 1" in logs and "System Program 11111111111111111111111111111111 [depth 1]" in logs


GATED_RUNNER = r'''
bench, eid, sessions = args[0], args[2].split("=", 1)[1], args[3].split("=", 1)[1]
root = os.getcwd()
def line(event_type, **extra):
    with open(os.path.join(sessions, f"enhanced_otel_{eid}.jsonl"), "a") as fh:
        fh.write(json.dumps({"timestamp": "2026-11-21T00:00:00Z", "session_id": eid, "event_type": event_type,
                             "metadata": {}, **extra}) + "\n")
def wait(name):
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(root, name)) and time.monotonic() < deadline:
        time.sleep(0.01)
line("Prompt", prompt={"user_prompt": "gated"})
wait("gate1")
line("ToolInput", tool_input={"tool_name": "gated_tool", "tool_args": {}})
wait("gate2")
line("SessionComplete", metadata={"status": "Succeeded", "success": True, "score": 1.0})
doc = {"session_id": eid, "benchmark_id": os.path.basename(bench)[:-4], "agent_type": "deterministic", "start_time": 1,
       "end_time": 2, "events": [], "final_result": {"success": True, "score": 1.0, "status": "Succeeded",
       "execution_time_ms": 5, "data": {"prompt": "gated", "steps": []}}}
tmp = os.path.join(sessions, f".session_{eid}.json.tmp")
open(tmp, "w").write(json.dumps(doc))
os.replace(tmp, os.path.join(sessions, f"session_{eid}.json"))
'''


def gated_daemon(daemon_factory: Any, tmp_path: Path) -> Daemon:
    root = dashboard_root(tmp_path)
    cmd = write_stub_runner(tmp_path / "gated.py", GATED_RUNNER)
    return daemon_factory(root, extra_args=["--runner-cmd", " ".join(cmd)]).start()


def launch(d: Daemon, benchmark: str = "001-sol-transfer") -> str:
    status, body = d.post(f"/benchmarks/{benchmark}/run", {"agent": "deterministic"})
    assert status == 200, body
    return str(body["execution_id"])


def test_runs_view_follows_live_changes_filters_and_cancels(daemon_factory: Any, tmp_path: Path, page: Any) -> None:
    """A run started elsewhere appears in the open runs view and changes status there; filters narrow it; Cancel stops it."""
    d = gated_daemon(daemon_factory, tmp_path)
    page.goto(f"{d.url}/#/runs")
    ready(page, "runs")
    first = launch(d)
    page.wait_for_selector(f"tr[data-id='{first}'][data-status='Running']")
    (d.root / "gate1").touch()
    (d.root / "gate2").touch()
    page.wait_for_selector(f"tr[data-id='{first}'][data-status='Completed']")
    (d.root / "gate1").unlink()
    second = launch(d, "002-spl-transfer")
    page.wait_for_selector(f"tr[data-id='{second}'][data-status='Running']")

    page.select_option("select[name=benchmark]", "002-spl-transfer")
    page.wait_for_url(re.compile(r"benchmark=002-spl-transfer"))
    ready(page, "runs")
    assert page.locator("tbody tr").count() == 1
    page.click(f"tr[data-id='{second}'] button:has-text('Cancel')")
    page.wait_for_selector(f"tr[data-id='{second}'][data-status='Stopped']")
    page.go_back()
    ready(page, "runs")
    assert page.locator("tbody tr").count() == 2


def test_page_reconnects_after_a_daemon_restart_and_catches_up(daemon_factory: Any, tmp_path: Path, page: Any,
                                                               console: Console) -> None:
    """With the daemon killed, the page says it is reconnecting; after a restart it resumes the run's events without gaps or repeats and shows what happened meanwhile."""
    d = gated_daemon(daemon_factory, tmp_path)
    execution_id = launch(d)
    runs_page = page.context.new_page()
    runs_page.on("console", lambda m: console.errors.append(f"runs page console.{m.type}: {m.text}") if m.type == "error" else None)
    runs_page.goto(f"{d.url}/#/runs")
    ready(runs_page, "runs")
    page.goto(f"{d.url}/#/executions/{execution_id}")
    page.wait_for_selector("#panel-events li.ev-prompt")

    # While the daemon is down the browser's reconnect attempts fail: those, and only those, are expected.
    console.allowed.append(lambda e: any(net in e for net in (
        "ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION_RESET")))
    d.stop(signal.SIGKILL)
    page.wait_for_selector("#conn.reconnecting")
    runs_page.wait_for_selector("#conn.reconnecting")
    (d.root / "gate1").touch()  # the run goes on without the daemon (its own session)
    dropped = "dropped-while-down"
    doc = json.loads((FIXTURES / "sessions" / "session_fixture-001-sol-transfer.json").read_text())
    doc["session_id"] = dropped
    atomic_drop(d.sessions, f"session_{dropped}.json", json.dumps(doc).encode())

    d.start()
    page.wait_for_selector("#conn.live")
    page.wait_for_selector("#panel-events li.ev-toolinput")
    runs_page.wait_for_selector(f"tr[data-id='{dropped}'][data-status='Completed']")
    (d.root / "gate2").touch()
    page.wait_for_selector(".card .badge.status-completed")
    page.wait_for_selector("#panel-events li.ev-sessioncomplete")
    offsets = page.eval_on_selector_all("#panel-events li.ev", "els => els.map(e => Number(e.dataset.offset))")
    assert len(offsets) == 3 and offsets == sorted(set(offsets)), offsets
    assert page.inner_text("#conn") == "live"
    runs_page.close()


def test_benchmark_upload_from_the_page_adds_it_to_the_catalog(daemon: Daemon, page: Any, console: Console) -> None:
    """A YAML pasted into the upload form is validated and written; a broken one is refused with the field named."""
    console.allowed.append(lambda e: "status of 400" in e and "/api/v1/upsert-yml" in e)  # the deliberate bad upload
    yml = (daemon.root / "benchmarks" / "001-sol-transfer.yml").read_text().replace("id: 001-sol-transfer", "id: 901-uploaded")
    page.goto(f"{daemon.url}/#/benchmarks")
    ready(page, "benchmarks")
    page.fill("form.upload textarea", "id: 902-broken\n")
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("form.upload .notice.err")
    assert "Rejected" in page.inner_text("form.upload .notice") and "yml_content" in page.inner_text("form.upload .notice")
    page.fill("form.upload textarea", yml)
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("form.upload .notice.ok")
    page.wait_for_selector("a[href='#/benchmarks/901-uploaded']")
    assert (daemon.root / "benchmarks" / "901-uploaded.yml").is_file()
    eventually(lambda: any(b["id"] == "901-uploaded" for b in daemon.get("/benchmarks")[1]), message="uploaded benchmark listed")
