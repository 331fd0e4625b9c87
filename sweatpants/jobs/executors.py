"""The executors a daemon can run jobs on, by name, and which one a job gets by default.

`local` is always there. `ray` is there when configured (`SWEATPANTS_EXECUTOR=ray`) or
when a job asks for it; it is built lazily so a daemon without Ray installed starts and
runs local jobs as before. Executors start on first use, except the default one, which
starts with the scheduler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sweatpants.errors import InvalidInput
from sweatpants.jobs.executor import Executor


class Executors:
    def __init__(self, factories: dict[str, Callable[[], Executor]], default: str) -> None:
        if default not in factories:
            raise ValueError(f"unknown default executor {default!r}")
        self._factories = factories
        self.default = default
        self._built: dict[str, Executor] = {}
        self._started: dict[str, asyncio.Task[None]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def check(self, name: str | None) -> str:
        """The executor name a job asked for (or the default); InvalidInput if unknown."""
        if name is None or name == "":
            return self.default
        if name not in self._factories:
            raise InvalidInput(
                f"unknown executor {name!r}; use one of: {', '.join(self._factories)}",
                field="executor",
            )
        return name

    def built(self, name: str) -> Executor | None:
        """The executor if it has been built (for status), without building it."""
        return self._built.get(name)

    def get(self, name: str) -> Executor:
        executor = self._built.get(name)
        if executor is None:
            executor = self._factories[self.check(name)]()
            self._built[name] = executor
        return executor

    async def ready(self, name: str) -> Executor:
        """The executor, started (once, shared by concurrent callers)."""
        executor = self.get(name)
        task = self._started.get(name)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.get_running_loop().create_task(executor.start())
            self._started[name] = task
        await asyncio.shield(task)
        return executor

    async def start(self) -> None:
        await self.ready(self.default)

    async def close(self) -> None:
        for executor in self._built.values():
            await executor.close()
