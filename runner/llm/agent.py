"""The LLM agent: one chat-completions tool loop per step, turning tool calls into instructions.

Per step (a fresh conversation): system prompt + rendered user message, `tool_choice: auto`,
each tool call dispatched to its handler in runner/tools in call order, each result sent
back as a `role: tool` message. The step ends on a reply without tool calls (its text is the
step's thought) or after max_turns (scored on what was built; the reason is recorded). The
step's instructions are the successful calls' instructions, in call order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from runner import __version__
from runner.actions import RawInstruction
from runner.b58 import is_pubkey
from runner.agents.base import AgentError, AgentInput, AgentOutput, ToolCallback
from runner.agents.catalog import AgentConfig, public_url
from runner.agents.deterministic import AgentError as BuilderError
from runner.formats import llm_file_name
from runner.json_depth import MAX_JSON_DEPTH, too_deep
from runner.llm.backend import ChatBackend, LlmCallError
from runner.llm.context import SYSTEM_PROMPT, render_user_message, truncate_prompt
from runner.llm.log import LlmLog
from runner.llm.settings import LlmSettings
from runner.tools.base import Tool, ToolContext, ToolError
from runner.tools.registry import TOOLS, offered_tools


class Usage:
    def __init__(self) -> None:
        self.requests = self.prompt_tokens = self.completion_tokens = self.total_tokens = self.retries = 0
        self.latency_ms = 0.0

    def add(self, usage: Any, retries: int, latency_ms: float) -> None:
        self.requests += 1
        self.retries += retries
        self.latency_ms += latency_ms
        if isinstance(usage, dict):
            pt, ct = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
            self.prompt_tokens += pt
            self.completion_tokens += ct
            self.total_tokens += _int(usage.get("total_tokens")) or pt + ct

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "latency_ms": round(self.latency_ms, 3),
            "retries": self.retries,
        }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class LlmAgent:
    version = __version__
    reports_tools = True  # its tool calls are the OTEL ToolInput/ToolOutput lines

    def __init__(self, config: AgentConfig, settings: LlmSettings, backend: ChatBackend, env: Mapping[str, str] | None = None) -> None:
        self.name = config.name
        self.config = config
        self.settings = settings
        self.backend = backend
        self.env = dict(env or {})
        self.tool_names: tuple[str, ...] = self.offered_tool_names({})  # outside fork mode
        self.usage = Usage()
        self._log: LlmLog | None = None
        self._tools_by_name: dict[str, Tool] = {t.name: t for t in TOOLS}

    def offered_tool_names(self, services: Mapping[str, Any]) -> tuple[str, ...]:
        """The tools a run with these services is offered (fork mode adds the Jupiter tools)."""
        return tuple(t.name for t in offered_tools(ToolContext({}, {}, env=self.env, services=services)))

    # ------------------------------------------------------------- session hooks (run.py)

    def open_session(self, session_id: str, sessions_dir: Path) -> None:
        self.close_session()
        self.usage = Usage()
        self._log = LlmLog(sessions_dir / llm_file_name(session_id), session_id, (self.config.api_key,))

    def close_session(self) -> dict[str, Any]:
        self.backend.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        fields: dict[str, Any] = {
            "model": self.config.model,
            "provider_url": public_url(self.config.base_url),
            "usage": self.usage.to_dict(),
        }
        price = self.settings.prices.get(self.config.model) or self.settings.prices.get(self.name)
        if price is not None:
            fields["cost_usd"] = price.cost(self.usage.prompt_tokens, self.usage.completion_tokens)
        return fields

    def render_prompt(self, prompt: str, key_map: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]) -> str:
        # The user message: the system prompt is fixed (runner.llm.context) and would fill the 500 chars.
        return truncate_prompt(render_user_message(prompt, key_map, states))

    # ------------------------------------------------------------------------- the loop

    def run(self, inp: AgentInput) -> AgentOutput:
        ctx = ToolContext(inp.key_map, inp.account_states, env=self.env, services=inp.services)
        set_aliases = getattr(self.backend, "set_aliases", None)
        if set_aliases is not None:  # the response cache matches re-runs by placeholder name
            set_aliases({n: a for n, a in inp.key_map.items() if not is_pubkey(n)})
        tools = offered_tools(ctx)
        specs = [t.spec() for t in tools]
        offered = {t.name: t for t in tools}
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": render_user_message(inp.prompt, inp.key_map, inp.account_states)},
        ]
        built: list[RawInstruction] = []
        tables: list[str] = []  # Jupiter tools: lookup tables make the step a v0 transaction
        api_result: Any = None  # jupiter_earn: an API-only answer, scored instead of a transaction
        thought: str | None = None
        stop_reason = "max_turns"
        calls_made = errors = 0
        turn = 0
        for turn in range(1, self.settings.max_turns + 1):
            request: dict[str, Any] = {
                "model": self.config.model,
                "messages": messages,
                "tools": specs,
                "tool_choice": "auto",
                "temperature": self.settings.temperature,
            }
            message, finish = self._ask(request, inp.step, turn)
            calls = message.get("tool_calls") or []
            if not isinstance(calls, list):
                calls = []
            content = message.get("content")
            text = content if isinstance(content, str) and content.strip() else None
            if not calls:
                thought, stop_reason = text, "no_tool_calls" if finish != "length" else "length"
                break
            wire_calls = [_wire_call(c, i, inp.step, turn) for i, c in enumerate(calls)]
            messages.append({"role": "assistant", "content": content if isinstance(content, str) else None, "tool_calls": wire_calls})
            thought = text or thought
            for call in wire_calls:
                calls_made += 1
                output, instructions = self._call_tool(call, offered, ctx, inp.on_tool)
                if instructions is None:
                    errors += 1
                else:
                    built.extend(instructions)
                    tables += [t for t in output.get("address_lookup_tables", []) if t not in tables]
                    api_result = output if "result" in output else api_result
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": orjson.dumps(output).decode()}
                )
        info = {"stop_reason": stop_reason, "turns": turn, "tool_calls": calls_made, "tool_errors": errors}
        return AgentOutput(built, thought, info, lookup_tables=tuple(tables), api_result=api_result)

    def _ask(self, request: dict[str, Any], step: int, turn: int) -> tuple[dict[str, Any], str | None]:
        try:
            exchange = self.backend.complete(request)
        except LlmCallError as exc:
            self.usage.add(None, exc.retries, exc.latency_ms)
            self._record(step, turn, request, None, exc.latency_ms, exc.retries, None, False, str(exc))
            raise AgentError(f"model API failed after {exc.retries} retries: {exc}") from None
        body = exchange.response
        if too_deep(body):
            # orjson parses 1024 levels but writes only 254: such an answer could not be logged
            # (nor its tool arguments echoed back), so it ends the step with a clear error.
            why = f"model API answered with JSON nested deeper than {MAX_JSON_DEPTH} levels"
            self.usage.add(None, exchange.retries, exchange.latency_ms)
            self._record(step, turn, request, None, exchange.latency_ms, exchange.retries, None, exchange.cached, why)
            raise AgentError(why)
        usage = body.get("usage")
        self.usage.add(usage, exchange.retries, exchange.latency_ms)
        choices = body.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        message = choice.get("message") if choice else None
        finish = choice.get("finish_reason") if choice else None
        error = None if isinstance(message, dict) else "the response has no choices[0].message"
        self._record(step, turn, request, body, exchange.latency_ms, exchange.retries, usage, exchange.cached, error, finish)
        if not isinstance(message, dict):
            raise AgentError(f"model API answered without a message: {orjson.dumps(body)[:300].decode()}")
        return message, finish if isinstance(finish, str) else None

    def _record(
        self,
        step: int,
        turn: int,
        request: dict[str, Any],
        response: dict[str, Any] | None,
        latency_ms: float,
        retries: int,
        usage: Any,
        cached: bool,
        error: str | None,
        finish: Any = None,
    ) -> None:
        if self._log is None:
            return
        self._log.write(
            {
                "step": step,
                "turn": turn,
                "model": self.config.model,
                "provider_url": public_url(self.config.base_url),
                "request": request,
                "response": response,
                "latency_ms": latency_ms,
                "retries": retries,
                "usage": usage if isinstance(usage, dict) else None,
                "finish_reason": finish,
                "cached": cached,
                "error": error,
            }
        )

    def _call_tool(
        self, call: dict[str, Any], offered: dict[str, Tool], ctx: ToolContext, on_tool: ToolCallback | None
    ) -> tuple[dict[str, Any], list[RawInstruction] | None]:
        """(tool message content, instructions or None on error); reports the call to on_tool."""
        fn = call["function"]
        name = fn["name"]
        raw_args = call.pop("_raw_args")
        t0 = time.perf_counter()
        args: Any = raw_args
        instructions: list[RawInstruction] | None = None
        try:
            if isinstance(raw_args, str):
                try:
                    args = orjson.loads(raw_args) if raw_args.strip() else {}
                except orjson.JSONDecodeError as exc:
                    raise ToolError(f"arguments are not valid JSON ({exc}); send a JSON object as a string") from None
            if not isinstance(args, dict):
                raise ToolError("arguments must be a JSON object")
            if too_deep(args):
                args = raw_args = "(not shown: nested too deeply)"
                raise ToolError(f"arguments are nested deeper than {MAX_JSON_DEPTH} levels; send a flat JSON object")
            tool = offered.get(name)
            if tool is None:
                raise ToolError(f"unknown tool {name!r}; available tools: {', '.join(offered)}")
            result = tool.handler(ctx, args)
            instructions = list(result.instructions)
            output: dict[str, Any] = result.output
        except (ToolError, BuilderError, ValueError) as exc:
            output = {"status": "error", "error": str(exc)}
        if on_tool is not None:
            ms = round((time.perf_counter() - t0) * 1000, 3)
            tool_args = args if isinstance(args, dict) else {"raw_arguments": str(raw_args)[:2000]}
            on_tool(
                name,
                tool_args,
                {
                    "success": instructions is not None,
                    "results": {**output, "execution_time_ms": ms},
                    "error_message": None if instructions is not None else f"Tool failed: {output.get('error')}",
                },
            )
        return output, instructions


def _wire_call(call: Any, index: int, step: int, turn: int) -> dict[str, Any]:
    """A tool call as it must be echoed back (arguments always a JSON string); keeps the raw args aside."""
    if not isinstance(call, dict):
        call = {}
    fn = call.get("function") if isinstance(call.get("function"), dict) else {}
    raw = fn.get("arguments")
    # Some servers send arguments as an object instead of a JSON string: accepted as is.
    arguments = raw if isinstance(raw, str) else orjson.dumps(raw if raw is not None else {}).decode()
    return {
        "id": str(call.get("id") or f"call_{step}_{turn}_{index}"),
        "type": "function",
        "function": {"name": str(fn.get("name") or ""), "arguments": arguments},
        "_raw_args": raw if raw is not None else "",
    }


def build_llm_agent(config: AgentConfig, env: Mapping[str, str]) -> LlmAgent:
    """The real agent: OpenAI client (+ optional cache) with the REEV_LLM_* settings."""
    from runner.llm.backend import CachingBackend, OpenAIBackend
    from runner.llm.settings import SettingsError, load_settings

    settings = load_settings(env)
    backend: ChatBackend = OpenAIBackend(config.base_url, config.api_key, settings.timeout_s, settings.max_retries)
    if settings.cache_dir:
        try:
            backend = CachingBackend(backend, Path(settings.cache_dir))
        except OSError as exc:  # a usage error (one line), not a traceback
            raise SettingsError(f"REEV_LLM_CACHE_DIR: {settings.cache_dir}: cannot create: {exc.strerror or exc}") from None
    return LlmAgent(config, settings, backend, env)
