"""Agents: GET /agents, GET /agent-performance, and settings: GET /agents/config/{agent},
POST /agents/config, POST /agents/test.

Upstream kept settings in memory (lost on restart); here they persist in the database.
A saved api_key is never returned in clear: "***" plus its last 4 characters. The UI posts
back the masked value it was shown, which must not overwrite the real key.
"""

from __future__ import annotations

from typing import Any

import re

import orjson
from aiohttp import web

from reevd import keys
from reevd.errors import bad_request, not_found
from reevd.api.responses import json_response
from reevd.api.params import read_json_object
from reevd.api.render.performance import summarize
from reevd.models import utc_now_iso
from reevd.store.agent_settings import AgentConfigSaved, agent_config

MASK = "***"
NO_KEY_AGENTS = frozenset({"deterministic"})  # runs offline: no URL, no key
MAX_SETTING_CHARS = 4096
# Upstream's agent names carry dots ("glm-4.6"); never a path, so dots are harmless here.
AGENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def mask(key: str | None) -> str | None:
    if not key:
        return None
    return MASK + key[-4:] if len(key) > 4 else MASK


def _agent_type(body: dict[str, Any]) -> str:
    agent = body.get("agent_type")
    if not isinstance(agent, str) or not AGENT_RE.fullmatch(agent):
        raise bad_request("agent_type", "required: 1-128 letters, digits, '.', '-' or '_'")
    return agent


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """Everything but agent_type/api_key; values must be scalars (the UI's form fields)."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in ("agent_type", "api_key"):
            continue
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise bad_request(name, "expected a string, number, boolean or null")
        if isinstance(value, str) and len(value) > MAX_SETTING_CHARS:
            raise bad_request(name, f"longer than {MAX_SETTING_CHARS} characters")
        out[name] = value
    url = out.get("api_url")
    if url not in (None, "") and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise bad_request("api_url", "expected an http:// or https:// URL")
    return out


def _key(body: dict[str, Any]) -> tuple[str | None, bool]:
    """(new key or None to keep the saved one, clear it?)."""
    if "api_key" not in body:
        return None, False
    key = body["api_key"]
    if key is None or key == "":
        return None, True
    if not isinstance(key, str) or len(key) > MAX_SETTING_CHARS:
        raise bad_request("api_key", f"expected a string of at most {MAX_SETTING_CHARS} characters")
    if key.startswith(MASK):
        return None, False  # the masked value we sent: keep the real key
    return key, False


async def save_config(request: web.Request) -> web.Response:
    body = await read_json_object(request, required=True)
    agent = _agent_type(body)
    settings = _settings(body)
    key, clear = _key(body)
    await request.app[keys.STORE].writer.write(
        AgentConfigSaved(agent, orjson.dumps(settings).decode(), key, clear, utc_now_iso())
    )
    return json_response({"status": "saved", "agent_type": agent})


async def get_config(request: web.Request) -> web.Response:
    agent = request.match_info["agent"]
    if not AGENT_RE.fullmatch(agent):
        raise bad_request("agent", "must be 1-128 letters, digits, '.', '-' or '_'")
    row = await agent_config(request.app[keys.STORE].reader, agent)
    if row is None:
        raise not_found("agent configuration", agent)
    return json_response({**orjson.loads(row["settings"]), "agent_type": agent, "api_key": mask(row["api_key"]),
                          "updated_at": row["updated_at"]})


async def test_config(request: web.Request) -> web.Response:
    """Checks only what can be checked offline, and says so: no request is sent to the agent's API."""
    body = await read_json_object(request, required=True)
    agent = _agent_type(body)
    settings = _settings(body)
    key, _ = _key(body)
    installed = agent in request.app[keys.LAUNCHER].agents
    saved = await agent_config(request.app[keys.STORE].reader, agent)
    checks = [{"check": "agent_installed", "ok": installed,
               "detail": f"'{agent}' {'is' if installed else 'is not'} an agent this reevd can run"}]
    if agent not in NO_KEY_AGENTS:
        url = settings.get("api_url") or (orjson.loads(saved["settings"]).get("api_url") if saved else None)
        has_key = bool(key) or bool(saved and saved["api_key"])
        checks.append({"check": "api_url_present", "ok": bool(url), "detail": "an http(s) API URL is set" if url else "no API URL given or saved"})
        checks.append({"check": "api_key_present", "ok": has_key, "detail": "an API key is set" if has_key else "no API key given or saved"})
    ok = all(c["ok"] for c in checks)
    summary = "; ".join(str(c["detail"]) for c in checks)
    return json_response({
        "status": "success" if ok else "error",
        "message": f"{summary}. No connection was attempted: reevd does not call the agent's API to test it.",
        "agent_type": agent,
        "checks": checks,
        "network_checked": False,
    })


async def list_agents(request: web.Request) -> web.Response:
    """What this install can run (the runner's registry), not upstream's hard-coded four."""
    return json_response(list(request.app[keys.LAUNCHER].agents))


async def agent_performance(request: web.Request) -> web.Response:
    return json_response(summarize(await request.app[keys.STORE].reader.judged_executions()))
