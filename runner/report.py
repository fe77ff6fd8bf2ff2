"""The human-readable stdout summary of a run."""

from __future__ import annotations

from typing import Any, TextIO

from runner.programs import PROGRAM_NAMES
from runner.run import RunResult

MAX_LOG_LINES = 12


def print_result(r: RunResult, out: TextIO) -> None:
    verdict = "Succeeded" if r.success else "Failed"
    names = {addr: name for name, addr in r.key_map.items() if name != addr}
    w = out.write
    w(f"== {r.benchmark_id}  session {r.session_id}\n")
    w(
        f"   score {r.score:.6f}  (instruction {r.instruction_score:.6f}, on-chain {r.onchain_score:.0f})"
        f"  -> {verdict}  [{r.execution_time_ms} ms]\n"
    )
    if r.error:
        w(f"   error: {r.error}\n")
    for i, step in enumerate(r.steps, start=1):
        w(f"   step {i}\n")
        for j, ix in enumerate(step["action"], start=1):
            pid = ix["program_id"]
            w(f"     action {j}: program {_label(pid, names, PROGRAM_NAMES.get(pid))}\n")
            for acc in ix["accounts"]:
                marks = ",".join(m for m, on in (("signer", acc["is_signer"]), ("writable", acc["is_writable"])) if on)
                w(
                    f"       - {_label(acc['pubkey'], names, PROGRAM_NAMES.get(acc['pubkey']))} [{marks or 'readonly'}]\n"
                )
            w(f"       data: {ix['data'] or '(empty)'}\n")
        _observation(step["observation"], out)
    if r.assertions:
        passed = sum(1 for a in r.assertions if a["passed"])
        w(f"   assertions {passed}/{len(r.assertions)} passed\n")
        for a in r.assertions:
            mark = "ok  " if a["passed"] else "FAIL"
            w(
                f"     {mark} {a['type']} {a['pubkey']}: expected {a['comparison']} {a['expected']}, actual {a['actual']}\n"
            )
    w(f"   files: {r.session_path}  {r.otel_path}\n")


def _observation(obs: dict[str, Any], out: TextIO) -> None:
    out.write(f"     observation: {obs['last_transaction_status']}")
    if obs["last_transaction_error"]:
        out.write(f" - {obs['last_transaction_error']}")
    out.write("\n")
    logs = obs["last_transaction_logs"]
    for line in logs[:MAX_LOG_LINES]:
        out.write(f"       | {line}\n")
    if len(logs) > MAX_LOG_LINES:
        out.write(f"       | ... {len(logs) - MAX_LOG_LINES} more log lines in the session file\n")


def _label(addr: str, names: dict[str, str], fallback: str | None = None) -> str:
    name = names.get(addr) or fallback
    return f"{name} ({addr})" if name else addr
