"""Browser tests: Playwright drives the system's Chromium (never a downloaded one) against a real daemon.

Skipped, with one line saying how to get it, when Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, Daemon

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/lib/chromium/chromium", "google-chrome")
HOW_TO = "install it with `sudo apt-get install chromium` (or set REEVD_CHROMIUM=/path/to/chrome) and `make install`"


def chromium_path() -> str | None:
    explicit = os.environ.get("REEVD_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"browser tests skipped: Playwright is not installed; {HOW_TO}"
    if chromium_path() is None:
        return f"browser tests skipped: no Chromium found; {HOW_TO}"
    return None


SKIP = _skip_reason()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SKIP is None:
        return
    if os.environ.get("REEVD_BROWSER_TESTS") == "required" and any("tests/browser" in str(i.fspath) for i in items):  # CI (.ci/run): never skip them silently
        raise pytest.UsageError(SKIP.replace("skipped", "required (REEVD_BROWSER_TESTS=required)"))
    marker = pytest.mark.skip(reason=SKIP)
    for item in items:
        uses_browser = "browser" in getattr(item, "fixturenames", ())
        if uses_browser and "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(marker)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module: Playwright's sync API holds an event loop on this thread while it
    lives, so it must be gone before pytest-asyncio's tests (in other modules) run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield chrome
        finally:
            chrome.close()


@dataclass
class Console:
    """Everything the page reported as an error: console.error, uncaught exceptions, failed loads."""

    errors: list[str] = field(default_factory=list)
    allowed: list[Callable[[str], bool]] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(ok(e) for ok in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser page; the test fails if the page logged any error it did not expect."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.on("console", lambda m: console.errors.append(f"console.{m.type}: {m.text} @ {m.location.get('url', '')}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    pg.on("requestfailed", lambda r: console.errors.append(f"requestfailed: {r.url} {r.failure}")
          if "/stream" not in r.url else None)  # a stream cut by a closing page or a restart is not a page error
    try:
        yield pg
    finally:
        context.close()
    assert not console.unexpected(), "browser console errors:\n" + "\n".join(console.unexpected())


def dashboard_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(REPO / "benchmarks", root / "benchmarks")
    (root / "logs" / "sessions").mkdir(parents=True)
    return root


@pytest.fixture
def daemon(daemon_factory: Callable[..., Daemon], tmp_path: Path) -> Daemon:
    """A real daemon with the project's benchmarks and the real runner."""
    return daemon_factory(dashboard_root(tmp_path)).start()


def ready(pg: Any, view: str) -> None:
    """Wait until the view named `view` has rendered its data."""
    pg.wait_for_selector(f"main[data-ready='{view}']", state="attached")
