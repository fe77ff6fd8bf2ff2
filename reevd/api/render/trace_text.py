"""Pure text views of a finished run: upstream's execution trace and a program-log tree.

Both read `result_data.final_result.data.steps` (the session file's steps: action list,
observation with last_transaction_status/error/logs). No I/O here.

Upstream's trace printed JSON strings with their quotes and always ended with ✅, even for a
failed run; here values are printed bare and the last line says how the run really ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reevd.models import JUDGED, Status
from runner.programs import PROGRAM_NAMES

SIGNER, NOT_SIGNER, WRITABLE, READ_ONLY = "🖋️", "🖍️", "➕", "➖"


def _final(result_data: Any) -> dict[str, Any]:
    final = result_data.get("final_result") if isinstance(result_data, dict) else None
    return final if isinstance(final, dict) else {}


def steps_of(result_data: Any) -> list[dict[str, Any]]:
    data = _final(result_data).get("data")
    steps = data.get("steps") if isinstance(data, dict) else None
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def prompt_of(result_data: Any) -> str | None:
    data = _final(result_data).get("data")
    prompt = data.get("prompt") if isinstance(data, dict) else None
    return prompt if isinstance(prompt, str) else None


def _text(value: Any) -> str:
    """A value as a person reads it: strings bare (upstream showed "\"Success\"")."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    import orjson

    return orjson.dumps(value).decode()


def _dict_at(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _list_at(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _instructions(step: dict[str, Any]) -> list[dict[str, Any]]:
    action = step.get("action")
    if isinstance(action, dict):
        action = [action]
    return [a for a in action if isinstance(a, dict)] if isinstance(action, list) else []


def _step_ok(step: dict[str, Any]) -> bool:
    obs = step.get("observation")
    status = obs.get("last_transaction_status") if isinstance(obs, dict) else None
    return isinstance(status, str) and status.lower() == "success"


def render_trace(result_data: Any, *, status: str, error_message: str | None = None) -> str:
    """Upstream's trace layout for a finished run, honest about failures."""
    lines: list[str] = []
    prompt = prompt_of(result_data)
    if prompt:
        lines += [f"📝 Prompt: {prompt}", ""]
    steps = steps_of(result_data)
    for number, step in enumerate(steps, start=1):
        ok = _step_ok(step)
        lines.append(f"{'✓' if ok else '✗'} Step {number}")
        instructions = _instructions(step)
        if not instructions:
            lines.append("   ├─ ACTION: none (the agent produced no instruction)")
        for ix in instructions:
            lines += ["   ├─ ACTION:", f"      Program ID: {_text(ix.get('program_id'))}", "      Accounts:"]
            accounts = _list_at(ix, "accounts")
            for i, acc in enumerate(a for a in accounts if isinstance(a, dict)):
                signer = SIGNER if acc.get("is_signer") else NOT_SIGNER
                writable = WRITABLE if acc.get("is_writable") else READ_ONLY
                lines.append(f"      [{i}] {signer} {writable} {_text(acc.get('pubkey'))}")
            lines.append(f"      Data (Base58): {_text(ix.get('data'))}")
        obs = _dict_at(step, "observation")
        error = obs.get("last_transaction_error")
        if error:
            lines.append(f"   ├─ Error: {_text(error)}")
        lines.append(f"   └─ OBSERVATION: {_text(obs.get('last_transaction_status', 'unknown'))}")
        lines.append("")
    if not steps:
        lines += ["(no steps recorded)", ""]
    final = _final(result_data)
    score = final.get("score")
    score_text = f" - score {_text(score)}" if isinstance(score, (int, float)) and not isinstance(score, bool) else ""
    if Status(status) is Status.COMPLETED:  # the row's status is the verdict (models.verdict)
        lines.append(f"✅ Execution Succeeded{score_text} - full trace displayed above")
    else:
        reason = error_message or (final.get("error") if isinstance(final.get("error"), str) else None)
        verdict = Status.FAILED.value if Status(status) in JUDGED else status
        lines.append(f"❌ Execution {verdict}{score_text}" + (f" - Error: {reason}" if reason else ""))
    return "\n".join(lines)


def render_running(events_count: int, last_event_type: str | None) -> str:
    last = f"; latest: {last_event_type}" if last_event_type else ""
    return f"🔄 Execution in progress - {events_count} events so far{last}"


# --- program logs -------------------------------------------------------------------------

_INVOKE = re.compile(r"^Program (\S+) invoke \[(\d+)\]$")
_CONSUMED = re.compile(r"^Program (\S+) consumed (\d+) of (\d+) compute units$")
_SUCCESS = re.compile(r"^Program (\S+) success$")
_FAILED = re.compile(r"^Program (\S+) failed: (.*)$")


@dataclass
class Call:
    """One program invocation and what it logged, nested by invoke depth."""

    program_id: str
    depth: int
    items: list["str | Call"] = field(default_factory=list)


def parse_logs(logs: list[str], show_cu: bool) -> list["str | Call"]:
    """Solana runtime log lines -> a call tree (leaves are display strings)."""
    roots: list[str | Call] = []
    stack: list[Call] = []

    def emit(item: "str | Call") -> None:
        (stack[-1].items if stack else roots).append(item)

    for raw in logs:
        line = raw.strip() if isinstance(raw, str) else str(raw)
        if m := _INVOKE.match(line):
            call = Call(m.group(1), int(m.group(2)))
            while stack and stack[-1].depth >= call.depth:
                stack.pop()
            emit(call)
            stack.append(call)
        elif m := _CONSUMED.match(line):
            if show_cu:
                emit(f"⚡ {m.group(2)} of {m.group(3)} compute units")
        elif _SUCCESS.match(line):
            emit("✅ success")
            if stack:
                stack.pop()
        elif m := _FAILED.match(line):
            emit(f"❌ failed: {m.group(2)}")
            if stack:
                stack.pop()
        elif line.startswith("Program log: "):
            emit(f"📝 {line[len('Program log: '):]}")
        elif line.startswith("Program return: "):
            emit(f"↩️ {line[len('Program return: '):]}")
        elif line.startswith("Program data: "):
            emit(f"📦 data {line[len('Program data: '):]}")
        else:
            emit(line)
    return roots


def _label(call: Call) -> str:
    name = PROGRAM_NAMES.get(call.program_id)
    icon = {"System": "🔧", "SPL Token": "🪙", "Token-2022": "🪙", "Associated Token Account": "💱"}.get(name or "", "📦")
    title = f"{name} Program" if name else "Program"
    return f"{icon} {title} {call.program_id} [depth {call.depth}]"


def _render(items: list["str | Call"], prefix: str, out: list[str]) -> None:
    for i, item in enumerate(items):
        last = i == len(items) - 1
        branch, extend = ("└─ ", "   ") if last else ("├─ ", "│  ")
        if isinstance(item, Call):
            out.append(prefix + branch + _label(item))
            _render(item.items, prefix + extend, out)
        else:
            out.append(prefix + branch + item)


def render_transaction_logs(result_data: Any, *, show_cu: bool, fmt: str) -> str:
    """Per-step program logs: a tree ('tree') or the raw lines ('plain'). '' when no step ran."""
    steps = steps_of(result_data)
    if not steps:
        return ""
    out: list[str] = []
    if fmt == "plain":
        for number, step in enumerate(steps, start=1):
            obs = _dict_at(step, "observation")
            logs = _list_at(obs, "last_transaction_logs")
            out.append(f"Step {number}: {_text(obs.get('last_transaction_status', 'unknown'))}")
            out += [f"  {line}" for line in logs if show_cu or not _CONSUMED.match(str(line).strip())]
        return "\n".join(out)
    out.append("🔗 Blockchain Transactions")
    for number, step in enumerate(steps, start=1):
        last_step = number == len(steps)
        branch, extend = ("└─ ", "   ") if last_step else ("├─ ", "│  ")
        obs = _dict_at(step, "observation")
        status = _text(obs.get("last_transaction_status", "unknown"))
        error = obs.get("last_transaction_error")
        mark = "✅" if _step_ok(step) else "❌"
        out.append(f"{branch}Step {number}: {mark} {status}" + (f" - Error: {_text(error)}" if error else ""))
        logs = _list_at(obs, "last_transaction_logs")
        if not logs:
            out.append(f"{extend}└─ (no program logs: no transaction was executed)")
            continue
        _render(parse_logs([str(x) for x in logs], show_cu), extend, out)
    return "\n".join(out)
