"""Harness settings from the environment (REEV_LLM_*), read once per runner process.

    REEV_LLM_TIMEOUT_S     per-request timeout, seconds (default 120)
    REEV_LLM_MAX_RETRIES   client retries after the first attempt (default 2; 429/5xx/timeouts)
    REEV_LLM_MAX_TURNS     model turns per step before the step is scored as is (default 8)
    REEV_LLM_TEMPERATURE   sampling temperature (default 0)
    REEV_LLM_CACHE_DIR     optional response cache keyed by a hash of the whole request
    REEV_LLM_PRICES        USD per million tokens, per model: "model=input/output[,model=...]",
                           e.g. "gpt-4o-mini=0.15/0.60,glm-4.6=0.6/2.2"; a run's cost_usd is set
                           only when its model has a price
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return round((prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6, 8)


@dataclass(frozen=True)
class LlmSettings:
    timeout_s: float = 120.0
    max_retries: int = 2
    max_turns: int = 8
    temperature: float = 0.0
    cache_dir: str | None = None
    prices: Mapping[str, Price] = field(default_factory=dict)


def _number(env: Mapping[str, str], key: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{key}: {raw} is outside {lo:g}..{hi:g}")
    return value


def parse_prices(raw: str) -> dict[str, Price]:
    prices: dict[str, Price] = {}
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        model, sep, pair = item.rpartition("=")
        inp, slash, out = pair.partition("/")
        try:
            if not sep or not slash or not model:
                raise ValueError
            prices[model.strip()] = Price(float(inp), float(out))
        except ValueError:
            raise SettingsError(f"REEV_LLM_PRICES: {item!r} is not model=input/output (USD per million tokens)") from None
    return prices


def load_settings(env: Mapping[str, str]) -> LlmSettings:
    return LlmSettings(
        timeout_s=_number(env, "REEV_LLM_TIMEOUT_S", 120.0, 0.01, 3600),
        max_retries=int(_number(env, "REEV_LLM_MAX_RETRIES", 2, 0, 10)),
        max_turns=int(_number(env, "REEV_LLM_MAX_TURNS", 8, 1, 100)),
        temperature=_number(env, "REEV_LLM_TEMPERATURE", 0.0, 0, 2),
        cache_dir=env.get("REEV_LLM_CACHE_DIR") or None,
        prices=parse_prices(env.get("REEV_LLM_PRICES") or ""),
    )
