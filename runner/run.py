"""Run one benchmark end to end: reset the VM, ask the agent, execute, score, write both files.

Once a run has started it always ends with a session file, even when the agent raises or
the VM fails: then success is false, status Failed, and final_result.error says why.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.actions import RawInstruction
from runner.agents import Agent, AgentInput, AgentOutput
from runner.benchmark import Benchmark
from runner.formats import EventType
from runner.otel import OtelWriter, otel_path
from runner.secrets import run_secrets, scrub_text
from runner.score import Score, evaluate_assertions, final_score, is_success
from runner.session import build_session, write_session_atomic

if TYPE_CHECKING:
    from runner.fork.sources import StateSource


@dataclass
class RunResult:
    session_id: str
    benchmark_id: str
    score: float
    instruction_score: float
    onchain_score: float
    success: bool
    steps: list[dict[str, Any]]
    assertions: list[dict[str, Any]]
    error: str | None
    session_path: Path
    otel_path: Path
    execution_time_ms: int
    key_map: dict[str, str] = field(default_factory=dict)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def run_benchmark(
    bench: Benchmark, agent: Agent, session_id: str, sessions_dir: Path, source: StateSource | None = None
) -> RunResult:
    """`source` set = fork mode: mainnet state from live RPC or a snapshot (runner/fork)."""
    start = time.time()
    t0 = time.perf_counter()
    o_path = otel_path(sessions_dir, session_id)
    steps: list[dict[str, Any]] = []
    generated: list[RawInstruction] = []
    key_map: dict[str, str] = {}
    assertions: list[dict[str, Any]] = []
    scored = Score(0.0, 0.0, 0.0)
    last_ok = False
    error: str | None = None

    open_session = getattr(agent, "open_session", None)  # LLM agents keep a per-session log
    if open_session is not None:
        open_session(session_id, sessions_dir)
    rpc = getattr(source, "rpc", None)  # a live source: its URL may carry a token
    secrets = run_secrets(os.environ, [rpc.url] if rpc is not None else [])
    with OtelWriter(o_path, session_id, agent.version, secrets) as otel:
        try:
            from runner.env import SolanaEnv  # lazy: solders is only needed to run

            try:
                env = SolanaEnv(bench, source)
            except Exception as exc:
                _emit_prompt(otel, bench, agent, None)
                raise _RunFailure(f"VM set-up failed: {type(exc).__name__}: {exc}") from exc
            services: dict[str, Any] = {}
            if source is not None:
                from runner.jupiter.client import JupiterClient

                services["jupiter"] = JupiterClient(source)
            _emit_prompt(otel, bench, agent, env.observation(), services)
            key_map = env.key_map  # the initial map: scoring resolves through it
            for number, prompt in enumerate(bench.step_prompts, start=1):
                t_step = time.perf_counter()
                obs = env.observation()
                out = _ask_agent(agent, otel, number, prompt, obs, t0, services)
                instructions = list(out.instructions)
                generated.extend(instructions)
                info: dict[str, Any] = dict(out.info or {})
                try:
                    if not instructions and out.api_result is not None:
                        # An API-only step (upstream 114): no transaction; scored on the answer.
                        outcome = env.record_api_step(out.api_result)
                        info["api_result"] = out.api_result
                    else:
                        if out.lookup_tables:
                            outcome = env.execute(instructions, out.lookup_tables)
                            info.update(lookup_tables=list(out.lookup_tables), message_version="v0")
                        else:
                            outcome = env.execute(instructions)
                    obs = env.observation()
                except Exception as exc:
                    raise _RunFailure(f"VM error: {type(exc).__name__}: {exc}") from exc
                steps.append(
                    {
                        "action": [ix.to_dict() for ix in instructions],
                        "info": info,
                        "observation": obs,
                        "thought": out.thought,
                    }
                )
                otel.emit(
                    EventType.STEP_COMPLETE,
                    flow_ms=_ms(time.perf_counter() - t0),
                    step_ms=_ms(time.perf_counter() - t_step),
                    metadata={
                        "step": number,
                        "step_name": f"{bench.id}-step-{number}",  # upstream's orchestrator key
                        "transaction_status": outcome.status,
                        "error": outcome.error,
                    },
                )
            last_ok = env.last.status == "Success"
            scored = final_score(bench.ground_truth, generated, key_map, last_ok)
            api_answers = [st["info"]["api_result"] for st in steps if "api_result" in st["info"]]
            if api_answers and bench.ground_truth.response_validation:
                # An API-only benchmark (upstream 114) is scored on its answer, not on a transaction.
                from runner.jupiter.api_score import check_answer

                api, checks = check_answer(bench.ground_truth.response_validation, api_answers[-1])
                steps[-1]["info"]["api_checks"] = checks
                scored = Score(api if last_ok else 0.0, api, 1.0 if last_ok else 0.0)
            assertions = evaluate_assertions(bench.ground_truth.final_state_assertions, env)
        except _RunFailure as exc:
            error = str(exc)
            scored, last_ok = Score(0.0, 0.0, 0.0), False
        except Exception as exc:  # a bug of ours must still end the run with a session file
            error = f"runner error: {type(exc).__name__}: {exc}"
            scored, last_ok = Score(0.0, 0.0, 0.0), False

        error = scrub_text(error, secrets) if error is not None else None  # also printed on stderr
        success = error is None and is_success(scored.score, last_ok)
        close_session = getattr(agent, "close_session", None)
        extra: dict[str, Any] = close_session() if close_session is not None else {}
        end = time.time()
        session = build_session(
            session_id=session_id,
            benchmark_id=bench.id,
            agent_type=agent.name,
            start_time=start,
            end_time=end,
            prompt=bench.prompt,
            steps=steps,
            success=success,
            score=scored.score,
            instruction_score=scored.instruction_score,
            onchain_score=scored.onchain_score,
            assertions=assertions,
            error=error,
            extra=extra,
        )
        if source is not None:
            # Where the mainnet state came from: a snapshot (slot, hash) or live RPC.
            session["final_result"]["state_source"] = source.describe()
        # The closing OTEL line goes first: once the session file exists, the stream is complete.
        otel.emit(
            EventType.SESSION_COMPLETE,
            flow_ms=_ms(time.perf_counter() - t0),
            metadata={
                "status": session["final_result"]["status"],
                "success": success,
                "score": scored.score,
                "error": error,
            },
        )
    s_path = write_session_atomic(sessions_dir, session, secrets)
    return RunResult(
        session_id=session_id,
        benchmark_id=bench.id,
        score=scored.score,
        instruction_score=scored.instruction_score,
        onchain_score=scored.onchain_score,
        success=success,
        steps=steps,
        assertions=assertions,
        error=error,
        session_path=s_path,
        otel_path=o_path,
        execution_time_ms=session["final_result"]["execution_time_ms"],
        key_map=key_map,
    )


def _emit_prompt(
    otel: OtelWriter, bench: Benchmark, agent: Agent, obs: dict[str, Any] | None, services: dict[str, Any] | None = None
) -> None:
    """The first OTEL line: the tools offered, the user prompt and (for a model) what it is shown."""
    render = getattr(agent, "render_prompt", None)
    final = render(bench.prompt, obs["key_map"], obs["account_states"]) if render and obs else bench.prompt
    offered = getattr(agent, "offered_tool_names", None)  # fork mode offers more tools to a model
    names = offered(services or {}) if offered is not None else agent.tool_names
    otel.emit(
        EventType.PROMPT,
        prompt={"tool_name_list": list(names), "user_prompt": bench.prompt, "final_prompt": final},
        # So a reader that sees this file before the session file knows what is running.
        metadata={"benchmark_id": bench.id, "agent": agent.name},
    )


class _RunFailure(Exception):
    """Ends a started run early; its message becomes final_result.error."""


def _ask_agent(
    agent: Agent,
    otel: OtelWriter,
    step: int,
    prompt: str,
    obs: dict[str, Any],
    t0: float,
    services: dict[str, Any] | None = None,
) -> AgentOutput:
    """One agent call; any exception ends the run.

    An agent that reports its own tool calls (an LLM) is traced by them; the others as one
    build_instructions ToolInput/ToolOutput pair. `services` (fork mode: the Jupiter client)
    reach the agent's tools through AgentInput.services.
    """

    def on_tool(name: str, args: Any, output: Any) -> None:
        otel.emit(EventType.TOOL_INPUT, tool_input={"tool_name": name, "tool_args": dict(args)})
        otel.emit(
            EventType.TOOL_OUTPUT,
            tool_output=dict(output),
            flow_ms=_ms(time.perf_counter() - t0),
            step_ms=_ms(time.perf_counter() - t_call),
        )

    t_call = time.perf_counter()
    if getattr(agent, "reports_tools", False):
        try:
            out = agent.run(AgentInput(prompt, obs["key_map"], obs["account_states"], step, on_tool, services or {}))
        except Exception as exc:
            raise _RunFailure(f"agent {agent.name!r} failed: {type(exc).__name__}: {exc}") from exc
        return out
    otel.emit(
        EventType.TOOL_INPUT,
        tool_input={
            "tool_name": "build_instructions",
            "tool_args": {"agent": agent.name, "step": step, "prompt": prompt, "key_map": obs["key_map"]},
        },
    )
    try:
        out = agent.run(AgentInput(prompt, obs["key_map"], obs["account_states"], step, on_tool, services or {}))
        instructions = list(out.instructions)
    except Exception as exc:
        message = f"agent {agent.name!r} failed: {type(exc).__name__}: {exc}"
        otel.emit(
            EventType.TOOL_OUTPUT,
            tool_output={"success": False, "results": None, "error_message": message},
            flow_ms=_ms(time.perf_counter() - t0),
            step_ms=_ms(time.perf_counter() - t_call),
        )
        raise _RunFailure(message) from exc
    otel.emit(
        EventType.TOOL_OUTPUT,
        tool_output={"success": True, "results": [ix.to_dict() for ix in instructions], "error_message": None},
        flow_ms=_ms(time.perf_counter() - t0),
        step_ms=_ms(time.perf_counter() - t_call),
    )
    return out
