"""Where a job's runner executes. The scheduler only sees the `Executor` / `RunHandle` pair.

`local` runs each job in a child process of this machine (taken from a small pool of warm,
already-imported runners). Other executors (a cluster) implement the same two protocols and speak the
same message stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from sweatpants.errors import Unavailable
from sweatpants.jobs.protocol import JobSpec


@dataclass(frozen=True)
class Exit:
    """How a runner ended: exit code, or the signal that killed it, in words.

    `reason` replaces the description when the executor knows better (a cluster node died);
    `resume` says the runner was lost for reasons outside the job (its machine went away),
    so the scheduler may run it again from its last checkpoint.
    """

    code: int | None
    signal_name: str | None = None
    reason: str | None = None
    resume: bool = False

    def describe(self) -> str:
        if self.reason:
            return self.reason
        if self.signal_name:
            return f"the job process was killed by {self.signal_name}"
        return f"the job process exited with code {self.code}"


class RunHandle(Protocol):
    """One launched runner."""

    pid: int | None
    node: str

    def frames(self) -> AsyncIterator[list[list[Any]]]:
        """Message batches from the runner until its stream ends."""
        ...

    def cancel(self) -> None:
        """Ask the module to stop (it sees `is_cancelled`)."""

    def terminate(self) -> None:
        """Ask the process to end now (SIGTERM)."""

    def kill(self) -> None:
        """End the process (SIGKILL)."""

    async def wait(self) -> Exit:
        """Wait for the runner to end."""
        ...


class LaunchError(Unavailable):
    """The executor could not start the job's runner (say why: the job fails with it)."""


class Executor(Protocol):
    name: str

    async def start(self) -> None: ...

    async def launch(self, spec: JobSpec) -> RunHandle: ...

    async def close(self) -> None: ...
