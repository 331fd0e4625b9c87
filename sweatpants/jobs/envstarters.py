"""Warm starters of module environments: a fork server per environment in use.

A job of a module with an environment runs on that environment's Python (so `import httpx`
is the module's pinned httpx, never the daemon's). Starting a fresh interpreter per job would
cost ~150 ms, so the first job of an environment starts a fork server inside it (the same
server as the daemon's, `children.ForkServer` on the environment's interpreter) and the next
jobs fork from it in a few milliseconds. A starter with no job running that has started none
for `idle_seconds` is ended; the next job starts a new one.

A starter belongs to one build of its environment: when the folder is rebuilt (a new
`pyvenv.cfg`), the next job gets a new starter and the old one ends once idle.
Where the system cannot fork, each job gets a fresh interpreter of the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sweatpants.jobs import envdir
from sweatpants.jobs.children import Child, ForkServer, ForkServerGone, WarmPool
from sweatpants.jobs.executor import LaunchError

log = logging.getLogger(__name__)

START_ATTEMPTS = 2


@dataclass
class _Starter:
    server: ForkServer
    build: int  # identity of the environment's build (pyvenv.cfg's inode)
    used_at: float = field(default_factory=time.monotonic)


def _build_of(env_dir: str) -> int:
    """The environment's build identity; LaunchError when it is not there any more."""
    try:
        return (Path(env_dir) / envdir.ENV_MARKER).stat().st_ino
    except OSError:
        raise LaunchError(
            f"the module's environment {env_dir} is missing; rebuild it with "
            "POST /modules/{id}/env/rebuild (sweatpants module reload)"
        ) from None


class EnvStarters:
    """The warm starters of the environments jobs run on, started on demand."""

    def __init__(self, idle_seconds: float, *, use_fork: bool = True) -> None:
        self._idle_seconds = idle_seconds
        self._use_fork = use_fork
        self._starters: dict[str, _Starter] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # per environment: starts never wait on others
        self._sweeper: asyncio.Task[None] | None = None

    def pids(self) -> dict[str, int]:
        """Environment folder → its starter's pid (for status and tests)."""
        return {
            env: starter.server.pid
            for env, starter in self._starters.items()
            if starter.server.pid is not None and starter.server.alive
        }

    async def start_child(self, env_dir: str) -> Child:
        """A new job process on the environment's interpreter, waiting for its spec."""
        python = str(envdir.interpreter(env_dir))
        if not self._use_fork:
            return await WarmPool(0, python=python).start_child()
        problem = ""
        for _attempt in range(START_ATTEMPTS):
            starter = await self._ready(env_dir, python)
            try:
                child = await starter.server.start_child()
            except ForkServerGone as exc:
                problem = str(exc)
                log.warning("the warm starter of %s: %s; trying a new one", env_dir, exc)
                continue
            starter.used_at = time.monotonic()
            return child
        raise LaunchError(
            f"the module's environment {env_dir} could not start a job process ({problem}); "
            f"check that {python} runs, or rebuild the environment"
        )

    async def _ready(self, env_dir: str, python: str) -> _Starter:
        async with self._locks.setdefault(env_dir, asyncio.Lock()):
            build = _build_of(env_dir)
            current = self._starters.get(env_dir)
            if current is not None and current.server.alive and current.build == build:
                return current
            if current is not None:
                self._starters.pop(env_dir)
                if not current.server.alive or current.server.running == 0:
                    await current.server.close()
                else:  # an older build with jobs still on it: ended once they are done
                    self._starters[f"{env_dir}#old{current.build}"] = current
            server = ForkServer(python=python)
            try:
                await server.start()
            except OSError as exc:
                raise LaunchError(
                    f"the module's environment {env_dir} has no usable Python ({python}: "
                    f"{exc.strerror or exc}); rebuild it"
                ) from None
            starter = _Starter(server, build)
            self._starters[env_dir] = starter
            self._sweep_soon()
            return starter

    def _sweep_soon(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        """End starters idle for `idle_seconds` (none running, none started); stop when
        there are no starters left."""
        interval = max(0.05, min(self._idle_seconds / 4, 10.0))
        while self._starters:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for env, starter in list(self._starters.items()):
                idle = starter.server.running == 0 and now - starter.used_at >= self._idle_seconds
                if (idle or not starter.server.alive) and self._starters.get(env) is starter:
                    del self._starters[env]  # a job asking for it now gets a new one
                    await starter.server.close()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        starters, self._starters = list(self._starters.values()), {}
        for starter in starters:
            await starter.server.close()
