"""`reevd serve|run|status|tail`: arguments + environment -> Config; the only reader of the environment."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:3001"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        sys.exit(f"reevd: environment {name}: expected an integer, got {raw!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reevd", description="Run and track reev benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument("--root", default=os.environ.get("REEVD_ROOT", "."), help="folder holding benchmarks/ and logs/sessions/ (env REEVD_ROOT)")
    serve.add_argument("--host", default=os.environ.get("REEVD_HOST", "127.0.0.1"), help="bind address; loopback unless told otherwise (env REEVD_HOST)")
    serve.add_argument("--port", type=int, default=_env_int("REEVD_PORT", 3001), help="TCP port, 0 for any free one (env REEVD_PORT)")
    serve.add_argument("--db", default=os.environ.get("REEVD_DB"), help="SQLite file (env REEVD_DB; default <root>/db/reevd.sqlite3)")
    serve.add_argument("--max-concurrency", type=int, default=_env_int("REEVD_MAX_CONCURRENCY", os.cpu_count() or 2), help="runner processes at once (env REEVD_MAX_CONCURRENCY)")
    serve.add_argument("--llm-concurrency", type=int, default=_env_int("REEVD_LLM_CONCURRENCY", 16), help="LLM runs at once, beside the CPU-bound ones (env REEVD_LLM_CONCURRENCY)")
    serve.add_argument("--llm-per-provider", type=int, default=_env_int("REEVD_LLM_PER_PROVIDER", 8), help="LLM runs calling one provider URL at once (env REEVD_LLM_PER_PROVIDER)")
    serve.add_argument("--default-timeout", type=float, default=float(os.environ.get("REEVD_DEFAULT_TIMEOUT_S", 300)), help="seconds before a run is timed out (env REEVD_DEFAULT_TIMEOUT_S)")
    serve.add_argument("--runner-cmd", default=os.environ.get("REEVD_RUNNER_CMD"), help="runner command, split like argv, never run by a shell (env REEVD_RUNNER_CMD)")
    serve.add_argument("--no-fork-server", action="store_true", default=os.environ.get("REEVD_FORK_SERVER", "1") == "0",
                       help="start each run as a fresh process instead of forking it from a preloaded runner (env REEVD_FORK_SERVER=0); an explicit --runner-cmd never uses the fork server")
    serve.add_argument("--run-log-max-bytes", type=int, default=_env_int("REEVD_RUN_LOG_MAX_BYTES", 1 << 20), help="bound of each run's stdout/stderr log under logs/runs (env REEVD_RUN_LOG_MAX_BYTES)")
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

    configure_logging(args.log_level)
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
        fork_server=not args.runner_cmd and not args.no_fork_server,
    )
    try:
        asyncio.run(serve(config))
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
