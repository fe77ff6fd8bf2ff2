"""`reevd eval --agents A,B --benchmarks all|ID,.. --epochs N [--wait]`.

--wait follows the daemon's global event feed (GET /api/v1/stream): it connects first, reads
the eval's state once (so nothing that finished before is missed), then waits for the
feed's `eval` frames until the eval is completed. No polling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import urllib.parse
from typing import Any

from reevd.client import API, STREAM_IDLE_TIMEOUT_S, ClientError, StreamLost, _request


def _post_eval(base: str, args: argparse.Namespace) -> dict[str, Any]:
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    benchmarks: str | list[str] = "all" if args.benchmarks.strip() == "all" else [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    started: dict[str, Any] = _request(f"{base}{API}/evals", "POST", {"agents": agents, "benchmarks": benchmarks, "epochs": args.epochs})
    return started


def _report(ev: dict[str, Any]) -> str:
    lines = [f"eval {ev['eval_id']}: {ev['finished']}/{ev['runs']} runs finished ({ev['status']})",
             f"{'AGENT':<24} {'BENCHMARK':<36} {'RUNS':>4} {'MEAN':>8} {'STDERR':>8} {'PASS':>6} {'TOKENS':>9} {'COST $':>10} {'LAT ms':>8}"]
    for c in ev.get("cells", []):
        def num(v: Any, fmt: str) -> str:
            return format(v, fmt) if isinstance(v, (int, float)) else "-"
        lines.append(f"{c['agent'][:24]:<24} {c['benchmark_id'][:36]:<36} {c['finished']:>4} {num(c['mean_score'], '.4f'):>8} "
                     f"{num(c['stderr'], '.4f'):>8} {num(c['pass_rate'], '.2f'):>6} {c['total_tokens']:>9} "
                     f"{num(c['cost_usd'], '.6f'):>10} {num(c['mean_latency_ms'], '.1f'):>8}")
    return "\n".join(lines)


def _wait(base: str, eval_id: str) -> dict[str, Any]:
    url = urllib.parse.urlsplit(f"{base}{API}/stream")
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=STREAM_IDLE_TIMEOUT_S)
    try:
        conn.request("GET", url.path, headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise ClientError(f"GET {url.path}: {resp.status}")
        # The daemon subscribes before it writes this comment: from here on no change is missed.
        for raw in resp:
            if raw.startswith(b": connected"):
                break
        state = _request(f"{base}{API}/evals/{urllib.parse.quote(eval_id)}")
        if state["status"] == "completed":
            return dict(state)
        event, data = "", ""
        for raw in resp:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line:
                if event == "eval" and data:
                    frame = json.loads(data)
                    if frame.get("eval_id") == eval_id and frame.get("status") == "completed":
                        return dict(_request(f"{base}{API}/evals/{urllib.parse.quote(eval_id)}"))
                event, data = "", ""
    except (OSError, http.client.HTTPException) as exc:
        raise StreamLost(f"event stream from {base} lost: {exc!r}") from None
    finally:
        conn.close()
    raise StreamLost("the daemon closed the event stream before the eval ended")


def cmd_eval(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    if args.epochs < 1:
        raise ClientError("--epochs: must be at least 1")
    started = _post_eval(base, args)
    if not args.wait:
        print(json.dumps(started) if args.json else f"{started['eval_id']} {started['runs']} runs queued")
        return 0
    final = _wait(base, started["eval_id"])
    print(json.dumps(final) if args.json else _report(final))
    return 0
