"""Pure: ingested OTEL events -> a Mermaid stateDiagram (prompt -> agent -> tools -> steps -> result).

A ToolOutput line carries no tool name upstream (capture README: pairing is by order), so
outputs close the oldest open tool call.
"""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

_UNSAFE = re.compile(r"[\"';#{}<>`|\\]|-->|\s+")
LABEL_MAX = 60


def label(text: Any, limit: int = LABEL_MAX) -> str:
    """Text that cannot break a Mermaid statement: one line, no quotes/semicolons/arrows."""
    s = _UNSAFE.sub(lambda m: " " if m.group(0).isspace() or m.group(0) == "-->" else "", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass
class Flow:
    lines: list[str] = field(default_factory=lambda: ["stateDiagram-v2", "    direction TB"])
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    prompts: int = 0
    current: str = "[*]"
    ended: bool = False

    def state(self, ident: str, text: str) -> None:
        self.lines.append(f'    state "{label(text)}" as {ident}')

    def edge(self, src: str, dst: str, text: str = "") -> None:
        self.lines.append(f"    {src} --> {dst}" + (f" : {label(text)}" if label(text) else ""))
        self.current = dst


def _get(body: dict[str, Any], *path: str) -> Any:
    cur: Any = body
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def build_flow(events: list[dict[str, Any]], final_status: str | None, score: float | None) -> Flow:
    """events: rows of the events table (offset, event_type, ts, tool_name, body JSON text)."""
    flow = Flow()
    open_calls: deque[dict[str, Any]] = deque()
    for row in events:
        try:
            body = orjson.loads(row["body"])
        except orjson.JSONDecodeError:
            continue
        if not isinstance(body, dict):
            continue
        kind = row["event_type"]
        if kind == "Prompt":
            flow.prompts += 1
            ident = f"Prompt{flow.prompts}"
            text = _get(body, "prompt", "user_prompt") or _get(body, "prompt", "final_prompt") or "prompt"
            flow.state(ident, f"Prompt: {text}")
            flow.edge(flow.current, ident)
            flow.edge(ident, "Agent", "to agent")
        elif kind == "ToolInput":
            call = {"tool_name": row["tool_name"] or "tool", "offset": row["offset"], "timestamp": row["ts"],
                    "success": None, "error": None}
            flow.tool_calls.append(call)
            ident = f"Tool{len(flow.tool_calls)}"
            call["state"] = ident
            flow.state(ident, call["tool_name"])
            flow.edge("Agent" if flow.prompts else flow.current, ident, f"call {len(flow.tool_calls)}")
            open_calls.append(call)
        elif kind == "ToolOutput":
            ok = _get(body, "tool_output", "success")
            error = _get(body, "tool_output", "error_message")
            finished = open_calls.popleft() if open_calls else None
            if finished is not None:
                finished["success"], finished["error"] = ok if isinstance(ok, bool) else None, error
                flow.edge(finished["state"], "Agent", "ok" if ok else f"error {error or ''}")
        elif kind == "StepComplete":
            flow.steps += 1
            status = _get(body, "metadata", "transaction_status") or _get(body, "metadata", "step_name") or "done"
            ident = f"Step{flow.steps}"
            flow.state(ident, f"Step {flow.steps}: {status}")
            flow.edge("Agent" if flow.prompts else flow.current, ident)
        elif kind in ("SessionComplete", "SessionSummary") and not flow.ended:
            status = _get(body, "metadata", "status") or final_status or "ended"
            _finish(flow, str(status), _get(body, "metadata", "score"))
    if not flow.ended and final_status is not None:
        _finish(flow, final_status, score)
    if len(flow.lines) == 2:
        flow.edge("[*]", "NoEvents")
        flow.state("NoEvents", "no events ingested yet")
    return flow


def _finish(flow: Flow, status: str, score: Any) -> None:
    flow.ended = True
    flow.state("Result", f"{status}" + (f" score {score:g}" if isinstance(score, (int, float)) else ""))
    flow.edge(flow.current, "Result")
    flow.edge("Result", "[*]")


def html_page(session_id: str, diagram: str) -> str:
    """A standalone page (upstream's ?format=html); mermaid renders the <pre> in the browser."""
    sid = html.escape(session_id)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Flow {sid}</title>
<style>body{{font-family:sans-serif;margin:2rem}} pre.mermaid{{background:#fff}}</style></head>
<body>
<h1>Flow of session {sid}</h1>
<pre class="mermaid">
{html.escape(diagram)}
</pre>
<script type="module">
import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";
mermaid.initialize({{ startOnLoad: true }});
</script>
</body>
</html>
"""
