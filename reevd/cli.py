"""`reevd serve|run|status|tail`: arguments + environment -> Config; the only reader of the environment."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:3001"


class SettingError(ValueError):
    """An invalid command-line or environment value; the message names it."""


def _number(raw: str | None, name: str, kind: type[int] | type[float]) -> int | float | None:
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SettingError(f"{name}: expected {what}, got {raw!r}") from None


def _setting(args: argparse.Namespace, attr: str, env: str, kind: type[int] | type[float], default: int | float) -> int | float:
    """The flag when given, else the environment variable, else the default. Read only by `serve`,
    so a bad REEVD_* value never breaks `reevd status` or `reevd run`."""
    flag = getattr(args, attr)
    if flag is not None:
        return flag
    value = _number(os.environ.get(env), f"environment {env}", kind)
    return default if value is None else value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reevd", description="Run and track reev benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument("--root", default=os.environ.get("REEVD_ROOT", "."), help="folder holding benchmarks/ and logs/sessions/ (env REEVD_ROOT)")
    serve.add_argument("--host", default=os.environ.get("REEVD_HOST", "127.0.0.1"), help="bind address; loopback unless told otherwise (env REEVD_HOST)")
    serve.add_argument("--port", type=int, default=None, help="TCP port, 0 for any free one (env REEVD_PORT)")
    serve.add_argument("--db", default=os.environ.get("REEVD_DB"), help="SQLite file (env REEVD_DB; default <root>/db/reevd.sqlite3)")
    serve.add_argument("--max-concurrency", type=int, default=None, help="runner processes at once (env REEVD_MAX_CONCURRENCY)")
    serve.add_argument("--llm-concurrency", type=int, default=None, help="LLM runs at once, beside the CPU-bound ones (env REEVD_LLM_CONCURRENCY, default 16)")
    serve.add_argument("--llm-per-provider", type=int, default=None, help="LLM runs calling one provider URL at once (env REEVD_LLM_PER_PROVIDER, default 8)")
    serve.add_argument("--default-timeout", type=float, default=None, help="seconds before a run is timed out (env REEVD_DEFAULT_TIMEOUT_S)")
    serve.add_argument("--runner-cmd", default=os.environ.get("REEVD_RUNNER_CMD"), help="runner command, split like argv, never run by a shell (env REEVD_RUNNER_CMD)")
    serve.add_argument("--no-fork-server", action="store_true", default=None,
                       help="start each run as a fresh process instead of forking it from a preloaded runner (env REEVD_FORK_SERVER=0); an explicit --runner-cmd never uses the fork server")
    serve.add_argument("--run-log-max-bytes", type=int, default=None, help="bound of each run's stdout/stderr log under logs/runs (env REEVD_RUN_LOG_MAX_BYTES)")
    serve.add_argument("--max-connections", type=int, default=None, help="open HTTP connections at once; more get a 503 (env REEVD_MAX_CONNECTIONS; default from the descriptor limit)")
    serve.add_argument("--max-streams", type=int, default=None, help="open SSE streams at once; more get a 503 (env REEVD_MAX_STREAMS, default 500)")
    serve.add_argument("--head-timeout", type=float, default=None, help="seconds a new connection may take to send its first request head before it is closed (env REEVD_HEAD_TIMEOUT_S, default 10)")
    serve.add_argument("--stream-send-timeout", type=float, default=None, help="seconds a stream client may take no data before it is dropped (env REEVD_STREAM_SEND_TIMEOUT_S, default 30)")
    serve.add_argument("--log-level", default=os.environ.get("REEVD_LOG_LEVEL", "info"))
    serve.add_argument("--access-log", action="store_true", help="log every request (off by default: the status path is hot)")

    for name, helptext in (("run", "launch a benchmark run on a running daemon"), ("status", "table of recent executions"), ("tail", "print a run's events live"),
                           ("eval", "run agents x benchmarks x epochs and report per cell")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--url", default=os.environ.get("REEVD_URL", DEFAULT_URL), help=f"daemon URL (env REEVD_URL, default {DEFAULT_URL})")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "run":
            p.add_argument("benchmark")
            p.add_argument("--agent", default="deterministic")
            p.add_argument("--timeout", type=float, default=None, help="seconds before the run is timed out")
            p.add_argument("--wait", action="store_true", help="return when the run ends; exit 0 if Completed, else 1")
        elif name == "eval":
            p.add_argument("--agents", required=True, help="comma-separated agent names")
            p.add_argument("--benchmarks", default="all", help="'all' or comma-separated benchmark ids")
            p.add_argument("--epochs", type=int, default=1, help="runs of each agent x benchmark")
            p.add_argument("--wait", action="store_true", help="follow the daemon's event feed until every run ended, then print the report")
        elif name == "status":
            p.add_argument("--limit", type=int, default=20)
            p.add_argument("--benchmark", default=None)
        else:
            p.add_argument("execution_id", nargs="?")
            p.add_argument("--all", action="store_true", help="follow every run")
    return parser


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from reevd.config import Config, default_runner_command, parse_runner_command
    from reevd.logs import configure_logging
    from reevd.server import serve
    from reevd.store import DatabaseTooNew
    from reevd.store.lock import DatabaseLocked

    configure_logging(args.log_level)
    try:
        args.port = _setting(args, "port", "REEVD_PORT", int, 3001)
        args.max_concurrency = _setting(args, "max_concurrency", "REEVD_MAX_CONCURRENCY", int, os.cpu_count() or 2)
        args.no_fork_server = bool(args.no_fork_server) or os.environ.get("REEVD_FORK_SERVER", "1") == "0"
        args.llm_concurrency = _setting(args, "llm_concurrency", "REEVD_LLM_CONCURRENCY", int, 16)
        args.llm_per_provider = _setting(args, "llm_per_provider", "REEVD_LLM_PER_PROVIDER", int, 8)
        args.default_timeout = _setting(args, "default_timeout", "REEVD_DEFAULT_TIMEOUT_S", float, 300.0)
        args.run_log_max_bytes = _setting(args, "run_log_max_bytes", "REEVD_RUN_LOG_MAX_BYTES", int, 1 << 20)
        args.max_connections = _setting(args, "max_connections", "REEVD_MAX_CONNECTIONS", int, 0)
        args.max_streams = _setting(args, "max_streams", "REEVD_MAX_STREAMS", int, 500)
        args.head_timeout = _setting(args, "head_timeout", "REEVD_HEAD_TIMEOUT_S", float, 10.0)
        args.stream_send_timeout = _setting(args, "stream_send_timeout", "REEVD_STREAM_SEND_TIMEOUT_S", float, 30.0)
    except SettingError as exc:
        print(f"reevd: {exc}", file=sys.stderr)
        return 2
    try:
        runner_cmd = parse_runner_command(args.runner_cmd) if args.runner_cmd else default_runner_command()
    except ValueError as exc:
        print(f"reevd: --runner-cmd: {exc}", file=sys.stderr)
        return 2
    if args.max_concurrency < 1:
        print("reevd: --max-concurrency: must be at least 1", file=sys.stderr)
        return 2
    if args.llm_concurrency < 1 or args.llm_per_provider < 1:
        print("reevd: --llm-concurrency and --llm-per-provider: must be at least 1", file=sys.stderr)
        return 2
    if args.run_log_max_bytes < 4096:
        print("reevd: --run-log-max-bytes: must be at least 4096", file=sys.stderr)
        return 2
    if not args.default_timeout > 0:
        print("reevd: --default-timeout: must be a positive number of seconds", file=sys.stderr)
        return 2
    root = Path(args.root).resolve()
    config = Config(
        root=root,
        host=args.host,
        port=args.port,
        db_path=Path(args.db).resolve() if args.db else None,
        runner_command=runner_cmd,
        max_concurrency=args.max_concurrency,
        llm_max_concurrency=args.llm_concurrency,
        llm_max_per_provider=args.llm_per_provider,
        default_timeout_s=args.default_timeout,
        run_log_max_bytes=args.run_log_max_bytes,
        access_log=args.access_log,
        max_connections=int(args.max_connections),
        max_streams=int(args.max_streams),
        stream_send_timeout_s=float(args.stream_send_timeout),
        head_timeout_s=float(args.head_timeout),
        fork_server=not args.runner_cmd and not args.no_fork_server,
    )
    if args.max_connections < 0 or args.max_streams < 1 or not args.stream_send_timeout > 0 or not args.head_timeout > 0:
        print("reevd: --max-connections must be >= 0, --max-streams >= 1, --stream-send-timeout and --head-timeout > 0",
              file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(config))
    except (DatabaseLocked, sqlite3.Error, DatabaseTooNew) as exc:
        print(f"reevd: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{args.host}:{args.port}" if exc.filename is None else str(exc.filename)
        print(f"reevd: cannot start ({where}): {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    from reevd import client

    return client.main(args)


if __name__ == "__main__":
    sys.exit(main())
