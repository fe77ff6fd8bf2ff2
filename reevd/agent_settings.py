"""Agent settings as the runner will see them: the daemon's environment plus what was saved.

Settings saved through POST /api/v1/agents/config (api_url, api_key, model) are mapped to the
runner's variables for the agent's provider (runner.agents.catalog.PROVIDER_SETTINGS) and
merged over the daemon's own environment. The result goes to the runner in its environment
(never on its argv, never in a log line); describe() and check() use the same merge, so
"runnable" here means the runner will accept the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from reevd.store.reader import Reader

from runner.agents.catalog import (
    PROVIDER_SETTINGS,
    AgentConfigError,
    AgentInfo,
    describe,
    describe_agents,
    is_known,
    resolve_agent,
)


class AgentUnavailable(Exception):
    """An unknown or unconfigured agent: HTTP 400 with this code and message."""

    def __init__(self, code: str, message: str, missing: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.missing = code, message, missing


class AgentSettings:
    def __init__(self, base_env: Mapping[str, str]) -> None:
        self.base_env = dict(base_env)
        self._saved: dict[str, tuple[dict[str, Any], str | None]] = {}

    async def load(self, reader: Reader) -> None:
        for row in await reader.all("SELECT agent_type, settings, api_key FROM agent_configs"):
            try:
                settings = orjson.loads(row["settings"])
            except orjson.JSONDecodeError:
                settings = {}
            self._saved[row["agent_type"]] = (settings if isinstance(settings, dict) else {}, row["api_key"])

    def remember(self, agent: str, settings: dict[str, Any], api_key: str | None, clear_key: bool) -> None:
        """Mirror of the database upsert (AgentConfigSaved): a None key keeps the saved one, unless
        api_url changed (a key is bound to the URL it was saved for)."""
        old_settings, old_key = self._saved.get(agent, ({}, None))
        if old_settings.get("api_url") != settings.get("api_url"):
            old_key = None
        self._saved[agent] = (dict(settings), None if clear_key else (api_key if api_key is not None else old_key))

    def env_for(self, agent: str) -> dict[str, str]:
        env = dict(self.base_env)
        saved = self._saved.get(agent)
        if saved is None:
            return env
        settings, key = saved
        fields = PROVIDER_SETTINGS.get(describe(agent, {}).provider, {})
        url_before = describe(agent, env).base_url
        for field_name, variable in fields.items():
            value = key if field_name == "api_key" else settings.get(field_name)
            if value not in (None, ""):
                env[variable] = str(value)
        key_variable = fields.get("api_key")
        if key_variable and key in (None, "") and describe(agent, env).base_url != url_before:
            # The daemon's own key belongs to the daemon's URL: it never follows a saved URL elsewhere.
            env.pop(key_variable, None)
        return env

    def describe(self) -> list[AgentInfo]:
        names = [i.name for i in describe_agents(self.base_env, extra=sorted(self._saved))]
        return [describe(name, self.env_for(name)) for name in names]

    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in describe_agents(self.base_env, extra=sorted(self._saved)))

    def check(self, agent: str) -> dict[str, str]:
        """The runner environment for a runnable agent; AgentUnavailable otherwise."""
        env = self.env_for(agent)
        try:
            resolve_agent(agent, env)
        except AgentConfigError as exc:
            code = "agent_not_configured" if exc.missing else "unknown_agent"
            raise AgentUnavailable(code, f"agent: {exc}", exc.missing) from None
        return env

    def provider_of(self, agent: str) -> str | None:
        """The provider URL an LLM agent calls (the per-provider limit's key); None for deterministic."""
        if not is_known(agent):
            return None
        info = describe(agent, self.env_for(agent))
        return info.base_url if info.provider != "builtin" else None

    def secrets(self) -> tuple[str, ...]:
        """Every key the daemon knows, to keep them out of anything it writes or serves."""
        from runner.agents.catalog import KEY_SETTINGS

        found = [self.base_env.get(k, "") for k in KEY_SETTINGS] + [key or "" for _s, key in self._saved.values()]
        return tuple(k for k in found if len(k) >= 4)
