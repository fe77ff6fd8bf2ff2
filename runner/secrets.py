"""The secrets a run must never write: configured API keys and the tokens inside configured URLs.

Each component keeps its own secret out of its own messages (the LLM backend its key, the
RPC client its URL); this is the last line, applied to every byte a run writes (OTEL lines,
the session file) and to the error it prints, because a server may quote back whatever it
was sent ("invalid api key <key>") inside an error that travels through several layers.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

KEY_SETTINGS = ("OPENAI_API_KEY", "ZAI_API_KEY", "LOCAL_MODEL_API_KEY", "JUPITER_API_KEY")
URL_SETTINGS = ("REEV_RPC_URL", "JUPITER_API_URL", "OPENAI_BASE_URL", "ZAI_API_URL", "LOCAL_MODEL_URL")
_TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{16,}$")  # /<token>/ as RPC providers put it
MASK = "***"
# Shorter strings are not masked: "123456" would also turn numbers in the JSON into "***".
MIN_SECRET = 12


def url_secrets(url: str) -> list[str]:
    """The password, query values and token-like path segments of a URL."""
    try:
        p = urllib.parse.urlsplit(url)
        found = [p.password or ""]
    except ValueError:
        return []
    found += [v for _k, v in urllib.parse.parse_qsl(p.query)]
    found += [seg for seg in p.path.split("/") if _TOKEN_SEGMENT.match(seg)]
    return [s for s in found if len(s) >= MIN_SECRET]


def run_secrets(env: Mapping[str, str], urls: Iterable[str] = ()) -> tuple[str, ...]:
    found = [env.get(k, "") for k in KEY_SETTINGS]
    for url in [*(env.get(k, "") for k in URL_SETTINGS), *urls]:
        found += url_secrets(url)
    # Longest first, so a secret that contains another is masked whole.
    return tuple(sorted({s for s in found if len(s) >= MIN_SECRET}, key=len, reverse=True))


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def scrub_bytes(blob: bytes, secrets: Iterable[str]) -> bytes:
    for secret in secrets:
        blob = blob.replace(secret.encode(), MASK.encode())
    return blob
