"""Saved agent settings (schema migration 2): one write, one read. Keys never leave this table in clear
except to the launcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from reevd.store.reader import Reader
from reevd.store.writes import Statement, WriteOp


@dataclass(frozen=True)
class AgentConfigSaved(WriteOp):
    """Settings for one agent type; api_key None keeps a key saved earlier (the UI sends it masked),
    unless api_url changed: a saved key never follows its agent to another URL."""

    agent_type: str
    settings: str  # JSON object text, without the key
    api_key: str | None
    clear_key: bool
    now: str
    execution_id: str = field(default="", init=False)

    SQL: ClassVar[str] = """
        INSERT INTO agent_configs (agent_type, settings, api_key, updated_at) VALUES (?,?,?,?)
        ON CONFLICT(agent_type) DO UPDATE SET settings=excluded.settings, updated_at=excluded.updated_at,
            api_key = CASE
                WHEN ? THEN NULL
                WHEN excluded.api_key IS NOT NULL THEN excluded.api_key
                -- a key is bound to the URL it was saved for: a new api_url without a key drops it,
                -- so a page that posts another URL (CORS is open) never redirects the saved key
                WHEN json_extract(excluded.settings, '$.api_url') IS NOT json_extract(agent_configs.settings, '$.api_url')
                    THEN NULL
                ELSE agent_configs.api_key END"""

    def statements(self) -> list[Statement]:
        return [(self.SQL, (self.agent_type, self.settings, self.api_key, self.now, int(self.clear_key)))]


async def agent_config(reader: Reader, agent_type: str) -> dict[str, Any] | None:
    rows = await reader.all("SELECT agent_type, settings, api_key, updated_at FROM agent_configs WHERE agent_type = ?",
                            (agent_type,))
    return rows[0] if rows else None
