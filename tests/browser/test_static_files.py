"""The dashboard's files as the daemon serves them (in process, no browser): headers, ETags, no escapes, budget."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from reevd.app import create_app
from reevd.config import Config
from tests.helpers import REPO

WEB = REPO / "reevd" / "web"
BUDGET_BYTES = 150 * 1000


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    root = tmp_path / "root"
    (root / "benchmarks").mkdir(parents=True)
    (root / "logs" / "sessions").mkdir(parents=True)
    c = TestClient(TestServer(create_app(Config(root=root, runner_command=(sys.executable, "-c", "pass")))))
    await c.start_server()
    yield c
    await c.close()


async def test_page_and_files_carry_csp_types_and_etags(client: TestClient) -> None:
    """`/` and every file under /ui/ answer with CSP default-src 'self', nosniff, their type, and 304 on a matching ETag."""
    page = await client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    html = await page.text()
    for name in re.findall(r'(?:src|href)="/ui/([^"]+)"', html):
        resp = await client.get(f"/ui/{name}")
        assert resp.status == 200, name
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.content_type == {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
        again = await client.get(f"/ui/{name}", headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status == 304


@pytest.mark.parametrize("path", ["/ui/__init__.py", "/ui/..%2Fapp.py", "/ui/%2e%2e%2f%2e%2e%2fpyproject.toml",
                                  "/ui/nope.js", "/ui/.hidden.js", "/ui/web.py"])
async def test_only_the_dashboard_files_are_served(client: TestClient, path: str) -> None:
    """Anything but a listed dashboard file is a JSON 404, never a file from elsewhere."""
    resp = await client.get(path)
    assert resp.status == 404
    assert set(await resp.json()) == {"error", "message"}


def test_page_has_no_inline_code_and_stays_within_budget() -> None:
    """No inline script/style or innerHTML/eval anywhere (CSP holds without exceptions); own JS + CSS ≤ 150 KB."""
    html = (WEB / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    own = [p for p in WEB.iterdir() if p.suffix in (".js", ".css")]
    for p in own:
        text = p.read_text()
        assert not re.search(r"\.innerHTML|outerHTML|insertAdjacentHTML|\beval\(|new Function\(|document\.write", text), p.name
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{p.name} refers to another origin"
    total = sum(p.stat().st_size for p in own)
    assert 0 < total <= BUDGET_BYTES, total
