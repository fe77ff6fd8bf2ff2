"""GET /api/v1/agents (names, or with ?detail=true runnable + missing setting per agent) and
POST /api/v1/agents/test (one real, minimal request to the agent's API)."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from aiohttp import web

from reevd import keys
from reevd.agent_settings import AgentSettings
from reevd.api.agents import _agent_type, _key, _settings
from reevd.api.responses import json_response
from reevd.api.params import choice_query, read_json_object
from runner.agents.catalog import PROVIDER_SETTINGS, AgentConfigError, describe, resolve_agent

TEST_TIMEOUT_S = 15.0
PROBE_BYTES = 4096  # of the probed answer, read and shown in the message
MAX_ANSWER_CHARS = 500
DETAIL_VALUES = frozenset({"true", "false", "1", "0", "yes", "no"})


async def list_agents(request: web.Request) -> web.Response:
    """Upstream's UI reads a list of names; `?detail=true` gives each agent's runnable/missing."""
    settings = request.app[keys.AGENT_SETTINGS]
    if choice_query(request, "detail", DETAIL_VALUES) in ("true", "1", "yes"):
        return json_response({"agents": [info.to_dict() for info in settings.describe()]})
    return json_response(list(settings.names()))


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:MAX_ANSWER_CHARS]


def _env_with_body(settings: AgentSettings, agent: str, body: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """The agent's runner environment with this request's unsaved fields on top (key included).

    A stored key (saved or the daemon's) goes only to the URL it belongs to: a request naming
    another api_url must bring its own key, since any web page can post here (CORS is open)."""
    env = settings.env_for(agent)
    fields = PROVIDER_SETTINGS.get(describe(agent, {}).provider, {})
    new_fields = _settings(body)
    key, _clear = _key(body)
    url_variable, key_variable = fields.get("api_url"), fields.get("api_key")
    new_url = new_fields.get("api_url")
    if (key is None and key_variable is not None and url_variable is not None and new_url not in (None, "")
            and str(new_url) != env.get(url_variable)):
        env.pop(key_variable, None)
    for field_name, variable in fields.items():
        value = key if field_name == "api_key" else new_fields.get(field_name)
        if value not in (None, ""):
            env[variable] = str(value)
    return env, key


async def _head(resp: aiohttp.ClientResponse) -> str:
    """The start of a response body, at most PROBE_BYTES, as text for the message."""
    data = b""
    while len(data) < PROBE_BYTES:
        chunk = await resp.content.read(PROBE_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


async def test_agent(request: web.Request) -> web.Response:
    body = await read_json_object(request, required=True)
    agent = _agent_type(body)
    settings = request.app[keys.AGENT_SETTINGS]
    env, key = _env_with_body(settings, agent, body)
    secrets = tuple(s for s in (*settings.secrets(), key or "") if len(s) >= 4)
    try:
        config = resolve_agent(agent, env)
    except AgentConfigError as exc:
        return json_response({"status": "error", "message": str(exc), "agent_type": agent, "missing": exc.missing,
                              "network_checked": False, "latency_ms": None})
    if config is None:
        return json_response({"status": "success", "message": "the deterministic agent needs no API", "agent_type": agent,
                              "missing": None, "network_checked": False, "latency_ms": None})
    base = config.base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {config.api_key}"}
    timeout = aiohttp.ClientTimeout(total=TEST_TIMEOUT_S)
    t0 = time.perf_counter()
    try:
        # Raw bytes only (no decompression: a small gzip body can inflate a thousandfold), and
        # only the first PROBE_BYTES of them: the URL is the caller's, its answer is untrusted.
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                         headers={"Accept-Encoding": "identity"}) as session:
            async with session.get(f"{base}/models", headers=headers) as resp:
                status, text, probe = resp.status, await _head(resp), "GET /models"
            if status in (404, 405):  # some providers have no model list: one one-token completion instead
                payload = {"model": config.model, "messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 1}
                async with session.post(f"{base}/chat/completions", headers=headers, json=payload) as resp:
                    status, text, probe = resp.status, await _head(resp), "POST /chat/completions"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        latency = round((time.perf_counter() - t0) * 1000, 1)
        return json_response({"status": "error", "agent_type": agent, "network_checked": True, "latency_ms": latency,
                              "message": _scrub(f"{type(exc).__name__} reaching {base}: {exc}", secrets), "missing": None})
    latency = round((time.perf_counter() - t0) * 1000, 1)
    ok = 200 <= status < 300
    return json_response({
        "status": "success" if ok else "error",
        "message": _scrub(f"{probe} at {base} answered HTTP {status} in {latency} ms: {text.strip()}", secrets),
        "agent_type": agent,
        "model": config.model,
        "http_status": status,
        "latency_ms": latency,
        "missing": None,
        "network_checked": True,
    })
