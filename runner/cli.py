"""reev-runner: run reev benchmarks on the embedded Solana VM and write session + OTEL files.

Exit status: 0 when every benchmark ran to a result (whatever its score), 1 on an error
(bad benchmark file, unknown agent, mainnet-only benchmark given as a single file, a run
that failed after it started), 2 on a usage error. Errors are one line on stderr.
Imports are lazy so that a single run starts fast (the whole process is budgeted).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from runner.formats import is_safe_id

if TYPE_CHECKING:
    from runner.agents import Agent

SESSION_DIR_ENV = "REEV_SESSION_LOG_PATH"  # upstream's name
DEFAULT_SESSIONS_DIR = Path("logs") / "sessions"
YAML_SUFFIXES = (".yml", ".yaml")

EPILOG = """\
session ids:
  A single file runs under --execution-id, or a fresh uuid4 when it is not given.
  For a folder, each benchmark gets its own id: with --execution-id X, benchmark
  <id> runs as "X-<id>" (e.g. X-001-sol-transfer); without it, each gets a fresh uuid4.
  Files: <sessions-dir>/session_<session id>.json and enhanced_otel_<session id>.jsonl
  ($REEV_ENHANCED_OTEL_FILE, with {session_id} substituted, overrides the OTEL path).

agents:
  deterministic; local (LOCAL_MODEL_URL, LOCAL_MODEL_NAME); glm-4.6, glm-4.6-coding
  (ZAI_API_KEY, ZAI_API_URL); gpt-*, o1-*, o3-*, o4-* and openai:<model> (OPENAI_API_KEY,
  OPENAI_BASE_URL). REEV_LLM_TIMEOUT_S, REEV_LLM_MAX_RETRIES, REEV_LLM_MAX_TURNS,
  REEV_LLM_TEMPERATURE, REEV_LLM_CACHE_DIR, REEV_LLM_PRICES tune LLM runs, which also
  write <sessions-dir>/llm_<session id>.jsonl.

sessions folder:
  --sessions-dir, else $REEV_SESSION_LOG_PATH, else ./logs/sessions (created if missing).

exit status:
  0 every benchmark ran to a result (any score); 1 an error (bad YAML, unknown or
  unconfigured agent,
  mainnet-only benchmark as a single file, a run that failed); 2 a usage error.
  In folder mode a mainnet-only benchmark is reported as "skipped", not as an error.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage dump.
        self.exit(2, f"reev-runner: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="reev-runner",
        description="Run reev benchmarks on an embedded Solana VM (LiteSVM) and write session and OTEL files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "path", metavar="PATH", help="a benchmark .yml/.yaml file, or a folder of them (not recursive, sorted)"
    )
    p.add_argument("--agent", default="deterministic", metavar="NAME", help="agent to run (default: deterministic)")
    p.add_argument("--execution-id", metavar="ID", help="session id (letters, digits, '-', '_'); see below for folders")
    p.add_argument("--sessions-dir", metavar="DIR", type=Path, help="where session and OTEL files go")
    return p


def _err(message: str) -> None:
    sys.stderr.write(f"reev-runner: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.execution_id is not None and not is_safe_id(args.execution_id):
        parser.error(f"--execution-id {args.execution_id!r}: use 1-128 letters, digits, '-' or '_'")
    path = Path(args.path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        folder = True
    elif path.is_file():
        if path.suffix not in YAML_SUFFIXES:
            parser.error(f"{path}: not a .yml or .yaml file")
        files, folder = [path], False
    else:
        parser.error(f"{path}: no such file or folder")

    from runner.agents import AgentConfigError, get_agent
    from runner.llm.settings import SettingsError

    try:
        agent = get_agent(args.agent)  # LLM settings come from the environment, never argv
    except (AgentConfigError, SettingsError) as exc:
        _err(f"--agent: {exc}")
        return 1
    sessions_dir = args.sessions_dir or Path(os.environ.get(SESSION_DIR_ENV) or DEFAULT_SESSIONS_DIR)
    try:
        sessions_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _err(f"{sessions_dir}: cannot create sessions folder: {exc.strerror or exc}")
        return 1
    try:
        return _run_all(files, folder, agent, args.execution_id, sessions_dir, sys.stdout)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


def _run_all(
    files: list[Path], folder: bool, agent: Agent, execution_id: str | None, sessions_dir: Path, out: TextIO
) -> int:
    import uuid

    from runner.benchmark import BenchmarkError, load_benchmark_file
    from runner.report import print_result
    from runner.run import run_benchmark

    errors = ran = skipped = 0
    used_ids: set[str] = set()
    for file in files:
        try:
            bench = load_benchmark_file(file)
        except BenchmarkError as exc:
            _err(str(exc))
            errors += 1
            continue
        reason = bench.mainnet_reason()
        if reason is not None:
            if not folder:
                _err(f"{file}: {reason}")
                return 1
            out.write(f"-- skipped {bench.id}: {reason}\n")
            skipped += 1
            continue
        if folder:
            session_id = f"{execution_id}-{bench.id}" if execution_id else str(uuid.uuid4())
        else:
            session_id = execution_id or str(uuid.uuid4())
        if not is_safe_id(session_id) or session_id in used_ids:
            why = (
                "is not a safe id"
                if not is_safe_id(session_id)
                else "is already used in this run (duplicate benchmark id)"
            )
            _err(f"{file}: id: session id {session_id!r} {why}")
            errors += 1
            continue
        used_ids.add(session_id)
        try:
            result = run_benchmark(bench, agent, session_id, sessions_dir)
        except OSError as exc:
            _err(f"{file}: cannot write session files: {exc.strerror or exc} ({exc.filename or sessions_dir})")
            errors += 1
            continue
        print_result(result, out)
        ran += 1
        if result.error:
            _err(f"{file}: run failed: {result.error}")
            errors += 1
    if folder:
        out.write(f"-- {ran} ran, {skipped} skipped (need mainnet), {errors} errors\n")
    out.flush()
    return 1 if errors else 0
