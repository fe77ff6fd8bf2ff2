"""Behaviour 9: the access log works, a bad serve-only setting spares other commands, long URLs log one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, eventually, free_port, http

pytestmark = pytest.mark.e2e


def test_access_log_logs_and_serves(daemon_factory) -> None:
    """`reevd serve --access-log` answers requests and logs each one."""
    d = daemon_factory(extra_args=["--access-log"]).start()
    status, body, _ = http("GET", f"{d.api}/executions?limit=1")
    assert status == 200 and body["executions"] == []
    eventually(lambda: "/api/v1/executions?limit=1" in d.log_path.read_text(errors="replace"), 5, "an access log line")


def _reevd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reevd", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=30)


def test_bad_serve_setting_does_not_break_status() -> None:
    """Invalid REEVD_* values read only by serve leave `reevd status` working and make serve say which one."""
    env = {"REEVD_DEFAULT_TIMEOUT_S": "soon", "REEVD_PORT": "http"}
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: status reports that, and nothing else
    status = _reevd("status", "--url", url, env=env)
    assert "Traceback" not in status.stderr and "REEVD_" not in status.stderr, status.stderr
    assert status.returncode == 1 and "cannot reach the daemon" in status.stderr, status.stderr
    serve = _reevd("serve", "--root", "/nonexistent-root-for-test", env=env)
    assert serve.returncode == 2 and "Traceback" not in serve.stderr
    assert "REEVD_" in serve.stderr and len(serve.stderr.strip().splitlines()) == 1, serve.stderr


def test_long_url_is_one_warning_line(daemon_factory) -> None:
    """A URL over 8 KiB gets a 400 and one warning line in the log, no traceback."""
    d = daemon_factory().start()
    status, _, _ = http("GET", f"{d.api}/health?x={'a' * 9000}")
    assert status == 400
    assert http("GET", f"{d.api}/health")[0] == 200
    eventually(lambda: "bad request refused" in d.log_path.read_text(errors="replace"), 5, "the warning line")
    assert "Traceback" not in d.log_path.read_text(errors="replace")
