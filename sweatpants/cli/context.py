"""What every command handler gets: parsed arguments, the output, and the daemon client."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sweatpants.cli.client import DaemonClient
from sweatpants.cli.output import Output
from sweatpants.cli.target import Target, resolve_target
from sweatpants.config import Settings


@dataclass
class Context:
    args: argparse.Namespace
    out: Output
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _settings: Settings | None = None
    _target: Target | None = None
    _client: DaemonClient | None = None

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.environ)
        return self._settings

    def target(self) -> Target:
        if self._target is None:
            self._target = resolve_target(
                getattr(self.args, "url", None), self.environ, self.settings()
            )
        return self._target

    def client(self) -> DaemonClient:
        if self._client is None:
            self._client = DaemonClient(self.target())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


Handler = Callable[[Context], int]
