"""Fuzz every route from GET /api/v1/openapi.json with schemathesis against a real daemon.

Starts `python -m reevd serve` on a temp root (the project's benchmarks and test fixtures,
a stub runner so /run cannot start real work), runs schemathesis, prints its summary and
exits with its status. Usage: .venv/bin/python tools/schemathesis_run.py [extra schemathesis args]
The long-lived feed GET /api/v1/stream never ends by design and is left out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import Daemon  # noqa: E402

CONFIG = Path(__file__).with_name("schemathesis.toml")


def main(extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="reevd-schemathesis-") as tmp:
        root = Path(tmp) / "root"
        (root / "benchmarks").mkdir(parents=True)
        (root / "logs" / "sessions").mkdir(parents=True)
        for f in (REPO / "benchmarks").glob("*.yml"):
            shutil.copy(f, root / "benchmarks")
        for f in (REPO / "tests" / "fixtures" / "sessions").glob("*"):
            shutil.copy(f, root / "logs" / "sessions")
        daemon = Daemon(root=root, extra_args=["--runner-cmd", f"{sys.executable} -c pass"]).start()
        started = time.monotonic()
        try:
            cmd = [
                str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG),
                "run", f"{daemon.api}/openapi.json",
                "--url", daemon.url, "--exclude-path", "/api/v1/stream",
                "--max-examples", "30", "--generation-deterministic", *extra,
            ]
            code = subprocess.call(cmd, cwd=root)
        finally:
            daemon.stop()
        log = (root / "daemon.log").read_text(errors="replace")
        tracebacks = log.count("unhandled_error")
        paths = sorted({line.split('path=')[-1].split()[0].strip('",') for line in log.splitlines()
                        if "unhandled_error" in line and "path=" in line})
        if paths:
            print("paths with unhandled errors:", ", ".join(paths[:10]))
        print(f"schemathesis exit {code} in {time.monotonic() - started:.0f}s; daemon unhandled errors: {tracebacks}")
        return code or (1 if tracebacks else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
