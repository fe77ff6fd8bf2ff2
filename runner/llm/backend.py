"""The one-method seam between the harness and a model: `complete(request) -> Exchange`.

`OpenAIBackend` sends the request with the `openai` package (its retries with backoff and
retry-after, an explicit timeout, no streaming) and returns the raw response JSON, the
latency and how many retries it took. `CachingBackend` answers repeated requests from disk;
`ReplayBackend` answers from a recorded llm_<id>.jsonl. Tests use the real OpenAIBackend
against a local fake server.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from runner.atomic import write_atomic
from runner.safe_files import read_regular

# A model's reply is a few KB; a server (or proxy) answering with far more, or with a body
# that inflates, must not take the runner's memory. Bodies are asked for uncompressed.
MAX_RESPONSE_BYTES = 16 << 20


@dataclass
class Exchange:
    request: dict[str, Any]
    response: dict[str, Any]
    latency_ms: float
    retries: int = 0
    cached: bool = False


class LlmCallError(Exception):
    """The model could not be reached or kept erroring after the client's retries."""

    def __init__(self, message: str, retries: int = 0, latency_ms: float = 0.0) -> None:
        super().__init__(message)
        self.retries = retries
        self.latency_ms = latency_ms


class ChatBackend(Protocol):
    base_url: str

    def complete(self, request: dict[str, Any]) -> Exchange: ...

    def close(self) -> None: ...


class OpenAIBackend:
    """The openai client, created on first use and dropped by close() (each session closes it)."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, max_retries: int) -> None:
        from runner.agents.catalog import public_url

        self.base_url = base_url
        self._where = public_url(base_url)  # what messages show: no credentials, no query
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._attempts = 0
        self._client: Any = None
        self._http: Any = None
        self._refused: str | None = None  # why the last response was refused (openai rewraps it)

    def _connect(self) -> Any:
        import httpx  # lazy: only an LLM run pays for these imports
        import openai

        def count(_request: httpx.Request) -> None:
            self._attempts += 1  # every attempt, so retries = attempts - 1

        self._http = httpx.Client(event_hooks={"request": [count]}, timeout=self._timeout_s,
                                  transport=_bounded_transport(httpx, MAX_RESPONSE_BYTES, self._refuse),
                                  headers={"Accept-Encoding": "identity"})
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=self._timeout_s,
            max_retries=self._max_retries,
            http_client=self._http,
        )
        return self._client

    def complete(self, request: dict[str, Any]) -> Exchange:
        import openai

        client = self._client or self._connect()
        self._attempts = 0
        self._refused = None
        t0 = time.perf_counter()
        try:
            raw = client.chat.completions.with_raw_response.create(**request)
            body = orjson.loads(raw.http_response.content)
        except openai.APIStatusError as exc:
            # Servers may echo the key they refused ("Incorrect API key provided: sk-..."):
            # every message is scrubbed, as it reaches the session file, OTEL and stderr.
            raise self._error(f"HTTP {exc.status_code} from {self._where}: {_error_text(exc)}", t0) from None
        except openai.APIError as exc:  # connection errors and timeouts
            if self._refused is not None:
                raise self._error(f"{self._where} {self._refused}", t0) from None
            raise self._error(f"{type(exc).__name__} calling {self._where}: {exc}", t0) from None
        except orjson.JSONDecodeError:
            raise self._error(f"{self._where} answered with a body that is not JSON", t0) from None
        except UnicodeEncodeError:  # httpx cannot put a non-ASCII key in a header
            raise self._error("the API key holds characters that cannot be sent in an HTTP header", t0) from None
        if not isinstance(body, dict):
            raise self._error(f"{self._where} answered with JSON that is not an object", t0)
        return Exchange(request, body, _ms(t0), self._retries())

    def _refuse(self, why: str) -> None:
        self._refused = why

    def _error(self, message: str, t0: float) -> LlmCallError:
        return LlmCallError(scrub(message, (self._api_key,)), self._retries(), _ms(t0))

    def _retries(self) -> int:
        return max(self._attempts - 1, 0)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._client = self._http = None


class ResponseRefused(Exception):
    """A response body over the size limit, or in an encoding that was not asked for."""


def _bounded_transport(httpx: Any, limit: int, refuse: Any) -> Any:
    """An httpx transport whose response bodies stop at `limit` bytes and are never decoded
    (identity was asked for: a gzip body could inflate a thousandfold past any raw limit)."""

    class Capped(httpx.SyncByteStream):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __iter__(self) -> Any:
            seen = 0
            for chunk in self._inner:
                seen += len(chunk)
                if seen > limit:
                    raise _refused(refuse, f"answered with a body over {limit} bytes")
                yield chunk

        def close(self) -> None:
            self._inner.close()

    class Transport(httpx.HTTPTransport):
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            encoding = response.headers.get("content-encoding", "").strip().lower()
            declared = response.headers.get("content-length", "")
            why = None
            if encoding not in ("", "identity"):
                why = f"answered with Content-Encoding {encoding[:40]!r} although identity was asked for"
            elif declared.isdigit() and int(declared) > limit:
                why = f"answered with a body of {declared} bytes (limit {limit})"
            if why is not None:
                response.close()
                raise _refused(refuse, why)
            response.stream = Capped(response.stream)
            return response

    return Transport()


def _refused(refuse: Any, why: str) -> ResponseRefused:
    refuse(why)
    return ResponseRefused(why)


def _error_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    return str(getattr(exc, "message", exc))[:500]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (of 4 characters or more) replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


def request_key(request: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> str:
    """sha256 of the whole request (model, messages, tools, settings); not of the URL, so a
    recorded cache can be replayed against another server."""
    blob = _aliased(orjson.dumps(request, option=orjson.OPT_SORT_KEYS), aliases or {})
    return hashlib.sha256(blob).hexdigest()


def _aliased(blob: bytes, aliases: Mapping[str, str]) -> bytes:
    """Placeholder addresses -> {{NAME}}: a run's keys are random, so a re-run must match by name."""
    for name, address in aliases.items():
        blob = blob.replace(address.encode(), b"{{" + name.encode() + b"}}")
    return blob


def _unaliased(blob: bytes, aliases: Mapping[str, str]) -> bytes:
    for name, address in aliases.items():
        blob = blob.replace(b"{{" + name.encode() + b"}}", address.encode())
    return blob


class CachingBackend:
    """Answer a request seen before from REEV_LLM_CACHE_DIR; store new answers there atomically.

    The key hashes the whole request with this run's placeholder addresses (`aliases`, set per
    step by the agent) written as their names, and the stored answer is kept the same way, so
    a re-run of the same benchmark hits the cache although its keypairs are new.
    """

    def __init__(self, inner: ChatBackend, cache_dir: Path) -> None:
        self.inner = inner
        self.base_url = inner.base_url
        self.dir = cache_dir
        self.aliases: dict[str, str] = {}
        cache_dir.mkdir(parents=True, exist_ok=True)

    def set_aliases(self, aliases: Mapping[str, str]) -> None:
        self.aliases = dict(aliases)

    def complete(self, request: dict[str, Any]) -> Exchange:
        path = self.dir / f"{request_key(request, self.aliases)}.json"
        try:
            # Bounded like a live answer, and never through a link planted in the cache folder:
            # anything else is a miss, asked again and overwritten.
            data = read_regular(path, MAX_RESPONSE_BYTES)
            body = orjson.loads(_unaliased(data, self.aliases)) if data is not None else None
            if isinstance(body, dict):
                return Exchange(request, body, 0.0, 0, cached=True)
        except (OSError, orjson.JSONDecodeError):
            pass
        exchange = self.inner.complete(request)
        # A unique O_EXCL temp file (write_atomic): a link planted at a guessable temp name
        # must not make the cache write through it.
        write_atomic(path, _aliased(orjson.dumps(exchange.response), self.aliases))
        return exchange

    def close(self) -> None:
        self.inner.close()


class ReplayBackend:
    """Answers in order from recorded responses (e.g. the `response` of llm_<id>.jsonl lines)."""

    def __init__(self, responses: Iterable[dict[str, Any]], base_url: str = "replay:") -> None:
        self.base_url = base_url
        self._responses = list(responses)

    @classmethod
    def from_llm_log(cls, path: Path) -> ReplayBackend:
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        return cls([r["response"] for r in lines if isinstance(r.get("response"), dict)])

    def complete(self, request: dict[str, Any]) -> Exchange:
        if not self._responses:
            raise LlmCallError("replay: no recorded response left")
        return Exchange(request, self._responses.pop(0), 0.0)

    def close(self) -> None:
        pass
