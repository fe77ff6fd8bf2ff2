from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Daemon


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator:
    """Start real daemons on temp roots; every one is stopped at teardown."""
    started: list[Daemon] = []

    def make(root: Path | None = None, **kwargs: object) -> Daemon:
        d = Daemon(root=root or tmp_path / "root", **kwargs)  # type: ignore[arg-type]
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc is not None:
            d.stop()
