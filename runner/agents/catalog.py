"""Agent names -> provider settings, from an environment mapping. Pure and import-light.

The daemon calls `describe_agents(env)` to list what can run (no `openai` import, no I/O);
the runner calls `resolve_agent(name, env)` and exits 1 on its error. Names follow upstream
reev; an unknown name is an error, never a silent fallback to the deterministic agent.

    deterministic            the reference agent (no model)
    local                    LOCAL_MODEL_URL (default http://localhost:1234/v1), LOCAL_MODEL_NAME,
                             LOCAL_MODEL_API_KEY optional
    glm-4.6, glm-4.6-coding  ZAI_API_KEY, ZAI_API_URL (default https://api.z.ai/api/coding/paas/v4);
                             model = the name without "-coding"
    gpt-*, o1-*, o3-*, o4-*  OPENAI_API_KEY, OPENAI_BASE_URL (default https://api.openai.com/v1)
    openai:<model>           any model on any OpenAI-compatible server, same two settings
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DETERMINISTIC = "deterministic"
LOCAL_DEFAULT_URL = "http://localhost:1234/v1"
ZAI_DEFAULT_URL = "https://api.z.ai/api/coding/paas/v4"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
NO_KEY = "not-needed"  # the client insists on a key; local servers ignore it

# Listed even when nothing names them; more via REEV_LLM_AGENTS (comma-separated names).
LISTED = (DETERMINISTIC, "local", "glm-4.6", "glm-4.6-coding", "gpt-4o-mini")
EXTRA_AGENTS_ENV = "REEV_LLM_AGENTS"

_OPENAI_FAMILY = re.compile(r"^(gpt-|o1-|o3-|o4-)[A-Za-z0-9._-]{1,100}$|^(o1|o3|o4)$")
_OPENAI_GENERIC = re.compile(r"^openai:([A-Za-z0-9._/:-]{1,200})$")
_GLM = re.compile(r"^glm-[0-9][A-Za-z0-9._-]{0,40}$")

# Every environment variable that may hold a key (the daemon masks and never logs these).
KEY_SETTINGS = ("LOCAL_MODEL_API_KEY", "ZAI_API_KEY", "OPENAI_API_KEY")
# Agent-panel fields -> environment variable, per provider (POST /api/v1/agents/config).
PROVIDER_SETTINGS: dict[str, dict[str, str]] = {
    "local": {"api_url": "LOCAL_MODEL_URL", "api_key": "LOCAL_MODEL_API_KEY", "model": "LOCAL_MODEL_NAME"},
    "zai": {"api_url": "ZAI_API_URL", "api_key": "ZAI_API_KEY"},
    "openai": {"api_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"},
}


@dataclass(frozen=True)
class AgentInfo:
    name: str
    provider: str  # "builtin" | "local" | "zai" | "openai"
    model: str | None
    base_url: str | None
    runnable: bool
    missing: str | None  # the setting that keeps it from running

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "runnable": self.runnable,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class AgentConfig:
    """Everything needed to call a model. `api_key` is excluded from repr so it is never logged."""

    name: str
    provider: str
    model: str
    base_url: str
    api_key: str = field(repr=False)


class AgentConfigError(ValueError):
    """An unknown agent name, or a known one missing a setting."""

    def __init__(self, name: str, message: str, missing: str | None = None) -> None:
        self.name = name
        self.missing = missing
        super().__init__(message)


def public_url(url: str) -> str:
    """The URL without credentials or query (user:pass@ and ?api-key= can hold a key): what
    session files, logs, error messages and API answers show of a provider's URL."""
    try:
        p = urllib.parse.urlsplit(url)
        host = p.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal
        if p.port:
            host = f"{host}:{p.port}"
    except ValueError:
        return "<invalid URL>"
    return urllib.parse.urlunsplit((p.scheme, host, p.path, "", ""))


def is_known(name: str) -> bool:
    return _provider(name) is not None


def _provider(name: str) -> str | None:
    if name == DETERMINISTIC:
        return "builtin"
    if name == "local":
        return "local"
    if _GLM.match(name):
        return "zai"
    if _OPENAI_FAMILY.match(name) or _OPENAI_GENERIC.match(name):
        return "openai"
    return None


def _settings(name: str, provider: str, env: Mapping[str, str]) -> tuple[str | None, str | None, str | None, str | None]:
    """(model, base_url, api_key, missing setting) for an LLM agent name."""
    if provider == "local":
        model = env.get("LOCAL_MODEL_NAME") or None
        return model, env.get("LOCAL_MODEL_URL") or LOCAL_DEFAULT_URL, env.get("LOCAL_MODEL_API_KEY") or NO_KEY, (
            None if model else "LOCAL_MODEL_NAME"
        )
    if provider == "zai":
        key = env.get("ZAI_API_KEY") or None
        model = name.removesuffix("-coding")
        return model, env.get("ZAI_API_URL") or ZAI_DEFAULT_URL, key, None if key else "ZAI_API_KEY"
    generic = _OPENAI_GENERIC.match(name)
    model = generic.group(1) if generic else name
    key = env.get("OPENAI_API_KEY") or None
    return model, env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL, key, None if key else "OPENAI_API_KEY"


def describe(name: str, env: Mapping[str, str]) -> AgentInfo:
    provider = _provider(name)
    if provider is None:
        return AgentInfo(name, "unknown", None, None, False, "a known agent name")
    if provider == "builtin":
        return AgentInfo(name, provider, None, None, True, None)
    model, base_url, _key, missing = _settings(name, provider, env)
    return AgentInfo(name, provider, model, public_url(base_url) if base_url else None, missing is None, missing)


def describe_agents(env: Mapping[str, str], extra: Iterable[str] = ()) -> list[AgentInfo]:
    """Every listed agent (built-in names, REEV_LLM_AGENTS, `extra`), in a stable order."""
    names = list(LISTED)
    more = [n.strip() for n in (env.get(EXTRA_AGENTS_ENV) or "").split(",") if n.strip()]
    for name in [*more, *extra]:
        if name not in names and is_known(name):
            names.append(name)
    return [describe(n, env) for n in names]


def known_forms() -> str:
    return "deterministic, local, glm-4.6, glm-4.6-coding, gpt-*/o1-*/o3-*/o4-* (OpenAI), openai:<model>"


def resolve_agent(name: str, env: Mapping[str, str]) -> AgentConfig | None:
    """None for the deterministic agent; the model settings for an LLM agent; else AgentConfigError."""
    provider = _provider(name)
    if provider is None:
        raise AgentConfigError(name, f"unknown agent {name!r}; known agents: {known_forms()}")
    if provider == "builtin":
        return None
    model, base_url, key, missing = _settings(name, provider, env)
    if missing is not None or model is None or key is None or base_url is None:
        raise AgentConfigError(name, f"agent {name!r} is not configured: set {missing}", missing)
    return AgentConfig(name, provider, model, base_url, key)
