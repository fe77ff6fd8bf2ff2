"""Client commands (`reevd run|status|tail`) talking to a running daemon over HTTP.

Stdlib only (urllib), so these commands start fast. Waiting for a run uses the daemon's
event stream: the client learns the end the moment the daemon does, without polling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from reevd.models import Status

API = "/api/v1"
EXIT_BY_STATUS = {Status.COMPLETED.value: 0, Status.FAILED.value: 1, Status.STOPPED.value: 3, Status.TIMEOUT.value: 4}
STREAM_IDLE_TIMEOUT_S = 45.0  # three missed keepalives (the daemon sends one every 15 s)
RECONNECT_FOR_S = 30.0  # how long `tail` keeps trying to resume after losing the stream (a daemon restart)


class ClientError(Exception):
    pass


def _request(url: str, method: str = "GET", body: dict[str, Any] | None = None, timeout: float = 30) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL given by the user
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read())
            message = payload.get("message") or payload
        except ValueError:
            message = exc.reason
        raise ClientError(f"{method} {url}: {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ClientError(f"cannot reach the daemon at {url}: {getattr(exc, 'reason', exc)}") from None


class StreamLost(ClientError):
    """The connection to the event stream failed or went silent (not a refusal by the daemon)."""


def sse_events(url: str, last_event_id: str | None = None,
               timeout: float | None = STREAM_IDLE_TIMEOUT_S) -> Iterator[tuple[str, str | None, str]]:
    """(event, id, data) for each Server-Sent Event; ends when the server closes the stream.

    `timeout` bounds the silence between two reads: the daemon sends a keepalive every 15 s,
    so a longer silence means a dead connection, not a quiet run.
    """
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or exc.reason
        except (ValueError, AttributeError):
            message = exc.reason
        raise ClientError(f"GET {url}: {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StreamLost(f"cannot reach the daemon at {url}: {getattr(exc, 'reason', exc)}") from None
    with resp:
        event, ident = "message", None
        data: list[str] = []
        try:
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield event, ident, "\n".join(data)
                    event, ident, data = "message", None, []
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "id":
                        ident = value
                    elif name == "data":
                        data.append(value)
        except (OSError, http.client.HTTPException) as exc:  # timeout, reset, truncated chunk
            raise StreamLost(f"event stream from {url} lost: {exc!r}") from None


def describe_event(ev: dict[str, Any]) -> str:
    """One readable line: time, type, tool, outcome."""
    body = ev.get("event") or {}
    when = (ev.get("timestamp") or "")[11:23]
    kind = ev.get("event_type", "?")
    parts = [when, f"{kind:<15}"]
    if ev.get("tool_name"):
        parts.append(ev["tool_name"])
    out = body.get("tool_output") if isinstance(body, dict) else None
    meta = body.get("metadata") if isinstance(body, dict) else None
    if isinstance(out, dict):
        parts.append("ok" if out.get("success") else f"error: {out.get('error_message')}")
    if isinstance(meta, dict):
        for key in ("transaction_status", "status", "score", "error"):
            if meta.get(key) is not None:
                parts.append(f"{key}={meta[key]}")
    prompt = body.get("prompt") if isinstance(body, dict) else None
    if isinstance(prompt, dict) and prompt.get("user_prompt"):
        parts.append(str(prompt["user_prompt"])[:80])
    return "  ".join(p for p in parts if p)


def _follow(base: str, execution_id: str, as_json: bool, quiet_events: bool = False,
            reconnect_for_s: float = RECONNECT_FOR_S) -> dict[str, Any] | None:
    """Print a run's events until it ends; returns its final ExecutionState.

    If the stream ends early (a daemon restart, a dropped connection) it reconnects with
    Last-Event-ID = the last event printed, so nothing is printed twice and nothing is skipped.
    """
    url = f"{base}{API}/executions/{urllib.parse.quote(execution_id)}/stream"
    last_id: str | None = None
    lost_since: float | None = None
    delay = 0.1
    connected = False
    while True:
        try:
            for event, ident, data in sse_events(url, last_id):
                lost_since, delay, connected = None, 0.1, True
                payload = json.loads(data)
                if event == "otel":
                    if not quiet_events:
                        event_json = json.dumps(payload["event"], separators=(",", ":"), ensure_ascii=False)
                        print(event_json if as_json else describe_event(payload), flush=True)
                    last_id = ident if ident is not None else last_id
                elif event == "status":
                    return payload
        except StreamLost:
            if not connected:
                raise  # never reached it: a wrong URL or a daemon that is down, say so at once
        now = time.monotonic()
        lost_since = now if lost_since is None else lost_since
        if now - lost_since >= reconnect_for_s:
            return None
        time.sleep(delay)  # client-side backoff while the daemon comes back
        delay = min(delay * 2, 2.0)


def cmd_run(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    body: dict[str, Any] = {"agent": args.agent}
    if args.timeout is not None:
        body["timeout_s"] = args.timeout
    started = _request(f"{base}{API}/benchmarks/{urllib.parse.quote(args.benchmark)}/run", "POST", body)
    execution_id = started["execution_id"]
    if not args.wait:
        print(json.dumps(started) if args.json else f"{execution_id} {started['status']}")
        return 0
    final = _follow(base, execution_id, as_json=False, quiet_events=True)
    if final is None:
        raise ClientError("the daemon closed the stream before the run ended")
    if args.json:
        print(json.dumps(final))
    else:
        score = final.get("score")
        score_text = f"{score:.6g}" if isinstance(score, (int, float)) else "-"
        line = f"{execution_id} {final['benchmark_id']} {final['agent']} {final['status']} score={score_text}"
        if final.get("error_message"):
            line += f" error={final['error_message']}"
        print(line)
    return 0 if final["status"] == Status.COMPLETED.value else 1


def cmd_status(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    query = {"limit": str(args.limit)}
    if args.benchmark:
        query["benchmark"] = args.benchmark
    page = _request(f"{base}{API}/executions?{urllib.parse.urlencode(query)}")
    rows = page["executions"]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'EXECUTION':<36}  {'BENCHMARK':<32}  {'AGENT':<14}  {'STATUS':<9}  {'SCORE':>8}  CREATED")
    for r in rows:
        score = f"{r['score']:.4f}" if isinstance(r.get("score"), (int, float)) else "-"
        print(f"{r['execution_id']:<36}  {r['benchmark_id'][:32]:<32}  {r['agent'][:14]:<14}  {r['status']:<9}  {score:>8}  {r['created_at']}")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    if args.all:
        for event, _ident, data in sse_events(f"{base}{API}/stream"):
            if event == "execution":
                s = json.loads(data)
                print(data if args.json else f"{s['updated_at'][11:23]}  {s['execution_id']}  {s['benchmark_id']}  {s['status']}  progress={s['progress']}", flush=True)
        return 0
    if not args.execution_id:
        print("reevd tail: give an EXECUTION_ID or --all", file=sys.stderr)
        return 2
    final = _follow(base, args.execution_id, args.json)
    if final is None:
        print("reevd tail: the daemon closed the stream before the run ended", file=sys.stderr)
        return 1
    if not args.json:
        print(f"-- {final['status']} score={final.get('score')}")
    return EXIT_BY_STATUS.get(final["status"], 1)


def main(args: argparse.Namespace) -> int:
    try:
        handler = {"run": cmd_run, "status": cmd_status, "tail": cmd_tail}[args.command]
        return handler(args)
    except ClientError as exc:
        print(f"reevd {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `reevd tail ID | head`: the reader left; exit quietly like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
