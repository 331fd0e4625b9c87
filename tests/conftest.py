"""Shared fixtures: real daemons on free ports, each on its own data directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import RunningDaemon


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., RunningDaemon]]:
    """Start daemons with `make_daemon(env=..., token=...)`; all are stopped afterwards."""
    started: list[RunningDaemon] = []

    def make(
        env: dict[str, str] | None = None, token: str | None = None, **kw: Any
    ) -> RunningDaemon:
        data_dir = tmp_path / f"data{len(started)}"
        daemon = RunningDaemon(data_dir, env=env, token=token)
        started.append(daemon)
        return daemon.start()

    yield make
    for daemon in started:
        daemon.stop()  # also closes its client when the daemon has already exited


@pytest.fixture
def daemon(make_daemon: Callable[..., RunningDaemon]) -> RunningDaemon:
    """A running daemon with a fresh data directory."""
    return make_daemon()
