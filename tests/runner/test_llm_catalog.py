"""Agent names and settings (the pure catalog), REEV_LLM_* parsing and the runner's CLI for LLM agents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.agents.catalog import AgentConfigError, describe, describe_agents, resolve_agent
from runner.llm.settings import SettingsError, load_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.runner.conftest import BENCHMARKS, ROOT
from tests.runner.llm_scripts import SOLUTIONS


def test_names_map_to_upstream_settings() -> None:
    """Each upstream agent name resolves to its provider, model and URL from upstream's variables."""
    env = {"ZAI_API_KEY": "z" * 8, "OPENAI_API_KEY": "o" * 8, "OPENAI_BASE_URL": "http://h/v1", "LOCAL_MODEL_NAME": "qwen"}
    glm = resolve_agent("glm-4.6-coding", env)
    assert glm is not None and (glm.model, glm.base_url, glm.provider) == ("glm-4.6", "https://api.z.ai/api/coding/paas/v4", "zai")
    gpt = resolve_agent("o3-mini", env)
    assert gpt is not None and (gpt.model, gpt.base_url) == ("o3-mini", "http://h/v1")
    generic = resolve_agent("openai:qwen2.5:7b", env)
    assert generic is not None and generic.model == "qwen2.5:7b"
    local = resolve_agent("local", env)
    assert local is not None and (local.model, local.base_url) == ("qwen", "http://localhost:1234/v1")
    assert resolve_agent("deterministic", {}) is None
    assert "z" * 8 not in repr(glm)


def test_unknown_and_unconfigured_agents_are_errors_naming_what_is_missing() -> None:
    """An unknown name lists the known forms; a known one without its key names the missing setting."""
    with pytest.raises(AgentConfigError, match="known agents: deterministic, local, glm-4.6"):
        resolve_agent("gemini-2.5-flash-lite", {})
    with pytest.raises(AgentConfigError, match="set ZAI_API_KEY") as info:
        resolve_agent("glm-4.6", {})
    assert info.value.missing == "ZAI_API_KEY"


def test_describe_agents_lists_runnable_and_missing() -> None:
    """describe_agents reports every listed agent, runnable or with its missing setting, plus extra names."""
    infos = {i.name: i for i in describe_agents({"OPENAI_API_KEY": "k" * 8, "REEV_LLM_AGENTS": "openai:m1, nope"})}
    assert list(infos)[:5] == ["deterministic", "local", "glm-4.6", "glm-4.6-coding", "gpt-4o-mini"]
    assert infos["deterministic"].runnable and infos["gpt-4o-mini"].runnable and infos["openai:m1"].runnable
    assert (infos["glm-4.6"].runnable, infos["glm-4.6"].missing) == (False, "ZAI_API_KEY")
    assert infos["local"].missing == "LOCAL_MODEL_NAME" and "nope" not in infos
    assert describe("nope", {}).runnable is False


def test_catalog_import_does_not_load_the_client() -> None:
    """The daemon can import and call the catalog without importing openai, httpx or solders."""
    code = (
        "import sys, runner.agents.catalog as c; c.describe_agents({}); "
        "print(sorted(m for m in ('openai', 'httpx', 'solders') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_settings_and_prices_parse_or_fail_clearly() -> None:
    """REEV_LLM_* are read with defaults; a bad value names the variable."""
    s = load_settings({"REEV_LLM_MAX_TURNS": "3", "REEV_LLM_PRICES": "gpt-4o-mini=0.15/0.6, glm-4.6=1/2"})
    assert (s.timeout_s, s.max_retries, s.max_turns, s.temperature) == (120.0, 2, 3, 0.0)
    assert s.prices["gpt-4o-mini"].cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    with pytest.raises(SettingsError, match="REEV_LLM_TIMEOUT_S"):
        load_settings({"REEV_LLM_TIMEOUT_S": "soon"})
    with pytest.raises(SettingsError, match="REEV_LLM_PRICES"):
        load_settings({"REEV_LLM_PRICES": "gpt-4o=cheap"})


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("REEV_")}
    return subprocess.run([sys.executable, "-m", "runner", *args], capture_output=True, text=True, cwd=ROOT, env={**clean, **env}, timeout=60)


def test_cli_unconfigured_agent_exits_1_naming_the_setting(tmp_path: Path) -> None:
    """--agent glm-4.6 without ZAI_API_KEY: exit 1, one line naming the missing setting, no files."""
    proc = _cli(str(BENCHMARKS / "001-sol-transfer.yml"), "--agent", "glm-4.6", "--sessions-dir", str(tmp_path), env={})
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "reev-runner: --agent: agent 'glm-4.6' is not configured: set ZAI_API_KEY"
    ]
    assert list(tmp_path.iterdir()) == []


def test_cli_llm_run_takes_its_key_from_the_environment(tmp_path: Path) -> None:
    """A whole runner process with an LLM agent: key from the environment, run scored, three files, key in none."""
    key = "sk-cli-SECRET-424242"
    with FakeOpenAI(list(SOLUTIONS["001-sol-transfer"]), key=key) as fake:
        proc = _cli(
            str(BENCHMARKS / "001-sol-transfer.yml"), "--agent", "openai:fake-model", "--execution-id", "cli1",
            "--sessions-dir", str(tmp_path), env={"OPENAI_API_KEY": key, "OPENAI_BASE_URL": fake.base_url},
        )
    assert proc.returncode == 0, proc.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # the runner's .partial/ temp folder is left empty
    assert sorted(p.name for p in files) == ["enhanced_otel_cli1.jsonl", "llm_cli1.jsonl", "session_cli1.json"]
    session = json.loads((tmp_path / "session_cli1.json").read_text())
    assert session["final_result"]["score"] == 1.0 and session["usage"]["requests"] == 2
    assert all(key not in p.read_text() for p in files) and key not in proc.stdout + proc.stderr


def test_listed_base_url_carries_no_credentials_or_query() -> None:
    """A provider URL with user:pass@ or ?api-key= is listed (GET /api/v1/agents) without either."""
    env = {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "https://user:PASSTOKEN@proxy.example:8443/v1?api-key=QTOKEN"}
    info = describe("gpt-4o-mini", env)
    assert info.base_url == "https://proxy.example:8443/v1"
