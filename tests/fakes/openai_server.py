"""A fake OpenAI-compatible server (aiohttp) for offline tests: scripted turns, strict request checks.

Routes: `POST /v1/chat/completions`, `GET /v1/models`. Every chat request is checked for the
shape a real server expects (model, roles, tools with JSON schemas, every assistant tool-call
id answered by a `role: tool` message, no streaming, a bearer key); a violation is answered
with HTTP 400 and kept in `violations`. Turns come from a script: a list consumed in order
(`Script`), or a function of the request (`by_turn`: the n-th assistant turn of a
conversation, safe under concurrency). A turn can inject every fault the issue lists: 429 with
retry-after, 500, a delay past the client's timeout, arguments that are not JSON or are an
object, an unknown tool, a text-only reply, no `usage`, GLM's `reasoning_content`.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

ROLES = {"system", "user", "assistant", "tool"}
TOOL_CHOICES = {"none", "auto", "required"}


@dataclass
class Call:
    name: str
    arguments: Any  # dict -> JSON string on the wire; str sent verbatim (e.g. not JSON)
    as_object: bool = False  # send `arguments` as a JSON object instead of a string (a quirk)
    id: str | None = None


@dataclass
class Turn:
    calls: list[Call] = field(default_factory=list)
    content: str | None = None
    status: int = 200
    retry_after: float | None = None
    delay_s: float = 0.0
    usage: bool = True
    reasoning_content: str | None = None
    finish_reason: str | None = None
    gzip: bool = False  # Content-Encoding: gzip whatever the client asked for
    chunked: bool = False  # no Content-Length: the body's size is known only by reading it


def tool_call(name: str, **arguments: Any) -> Turn:
    return Turn(calls=[Call(name, arguments)])


def calls(*items: Call) -> Turn:
    return Turn(calls=list(items))


def text(content: str, **kw: Any) -> Turn:
    return Turn(content=content, **kw)


def error(status: int, retry_after: float | None = None) -> Turn:
    return Turn(status=status, retry_after=retry_after)


Responder = Callable[[dict[str, Any]], Turn]


def by_turn(turns: list[Turn], after: Turn | None = None) -> Responder:
    """The turn for the conversation's n-th assistant reply (stateless: safe for parallel runs)."""

    def pick(request: dict[str, Any]) -> Turn:
        n = sum(1 for m in request.get("messages", []) if isinstance(m, dict) and m.get("role") == "assistant")
        return turns[n] if n < len(turns) else (after or text("Done."))

    return pick


def check_request(body: Any, headers: Any) -> list[str]:
    """What a strict OpenAI-compatible server would reject in this request."""
    problems: list[str] = []
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
        problems.append("missing bearer key")
    if not isinstance(body, dict):
        return [*problems, "body is not a JSON object"]
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model: required string")
    if body.get("stream"):
        problems.append("stream: this fake does not stream and the client must not ask")
    tools = body.get("tools", [])
    names: set[str] = set()
    if not isinstance(tools, list):
        problems.append("tools: must be a list")
        tools = []
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict):
            problems.append(f"tools[{i}]: must be {{type: function, function: {{...}}}}")
            continue
        params = fn.get("parameters")
        if not isinstance(fn.get("name"), str) or not isinstance(fn.get("description"), str):
            problems.append(f"tools[{i}].function: name and description are required strings")
        if not isinstance(params, dict) or params.get("type") != "object" or not isinstance(params.get("properties"), dict):
            problems.append(f"tools[{i}].function.parameters: must be a JSON schema of type object")
        elif not set(params.get("required", [])) <= set(params["properties"]):
            problems.append(f"tools[{i}].function.parameters.required names a missing property")
        names.add(str(fn.get("name")))
    choice = body.get("tool_choice")
    if choice is not None and choice not in TOOL_CHOICES and not isinstance(choice, dict):
        problems.append(f"tool_choice: {choice!r} not allowed")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: required non-empty list"]
    pending: list[str] = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ROLES:
            problems.append(f"messages[{i}].role: {role!r}")
            continue
        if role == "tool":
            tcid = m.get("tool_call_id")
            if tcid not in pending:
                problems.append(f"messages[{i}]: tool_call_id {tcid!r} answers no pending assistant tool call")
            else:
                pending.remove(tcid)
            if not isinstance(m.get("content"), str):
                problems.append(f"messages[{i}].content: a tool result must be a string")
            continue
        if pending:
            problems.append(f"messages[{i}]: tool calls {pending} were not answered before this message")
            pending = []
        if role == "assistant":
            for j, c in enumerate(m.get("tool_calls") or []):
                fn = c.get("function", {}) if isinstance(c, dict) else {}
                if not isinstance(c, dict) or c.get("type") != "function" or not isinstance(c.get("id"), str):
                    problems.append(f"messages[{i}].tool_calls[{j}]: needs id and type function")
                    continue
                if not isinstance(fn.get("arguments"), str):
                    problems.append(f"messages[{i}].tool_calls[{j}].function.arguments: must be a string")
                pending.append(c["id"])
        elif not isinstance(m.get("content"), str):
            problems.append(f"messages[{i}].content: must be a string")
    if pending:
        problems.append(f"tool calls {pending} were not answered")
    return problems


class FakeOpenAI:
    """Start with `with FakeOpenAI(script) as fake:`; point a client at `fake.base_url`."""

    def __init__(self, script: list[Turn] | Responder | None = None, models: tuple[str, ...] = ("fake-model",), latency_s: float = 0.0, key: str | None = None) -> None:
        self._script = script if script is not None else [text("Done.")]
        self._queue = list(script) if isinstance(script, list) else None
        self.models = models
        self.latency_s = latency_s
        self.key = key  # when set, a request with another key gets 401
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.violations: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most chat requests being answered at once (per-provider limits)
        self.port = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._serve, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    # ------------------------------------------------------------------- handlers

    def _auth_ok(self, request: web.Request) -> bool:
        return self.key is None or request.headers.get("Authorization") == f"Bearer {self.key}"

    async def _models(self, request: web.Request) -> web.Response:
        if not self._auth_ok(request):
            return _error(401, "invalid api key", "invalid_request_error")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        with self._lock:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
        if not self._auth_ok(request):
            return _error(401, "invalid api key", "invalid_request_error")
        problems = check_request(body, request.headers)
        if problems:
            with self._lock:
                self.violations.extend(problems)
            return _error(400, "; ".join(problems), "invalid_request_error")
        turn = self._next(body)
        delay = self.latency_s + turn.delay_s
        self.in_flight += 1  # only touched on the server's loop thread
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.in_flight -= 1
        if turn.status != 200:
            headers = {"retry-after": f"{turn.retry_after:g}"} if turn.retry_after is not None else {}
            kind = "rate_limit_error" if turn.status == 429 else "server_error"
            return _error(turn.status, f"fake {turn.status}", kind, headers)
        payload = orjson.dumps(self._completion(body, turn))
        if turn.gzip:
            return web.Response(body=gzip.compress(payload), content_type="application/json",
                                headers={"Content-Encoding": "gzip"})
        if turn.chunked:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(payload), 1 << 20):
                await response.write(payload[start:start + (1 << 20)])
            await response.write_eof()
            return response
        return web.Response(body=payload, content_type="application/json")

    def _next(self, body: dict[str, Any]) -> Turn:
        if self._queue is None:
            assert callable(self._script)
            return self._script(body)
        with self._lock:
            return self._queue.pop(0) if self._queue else text("Done (script exhausted).")

    def _completion(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        n = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": turn.content, "refusal": None}
        if turn.reasoning_content is not None:
            message["reasoning_content"] = turn.reasoning_content
        if turn.calls:
            message["tool_calls"] = [
                {
                    "id": c.id or f"call_{n}_{i}",
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": c.arguments if isinstance(c.arguments, str) or c.as_object else orjson.dumps(c.arguments).decode(),
                    },
                }
                for i, c in enumerate(turn.calls)
            ]
        out: dict[str, Any] = {
            "id": f"chatcmpl-fake{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": turn.finish_reason or ("tool_calls" if turn.calls else "stop")}
            ],
        }
        if turn.usage:
            prompt = len(orjson.dumps(body["messages"])) // 4
            completion = len(orjson.dumps(message)) // 4
            out["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        return out


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers or {})
