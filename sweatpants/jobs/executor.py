"""Where a job's runner executes. The scheduler only sees the `Executor` / `RunHandle` pair.

`local` runs each job in a child process of this machine (taken from a small pool of warm,
already-imported runners). Other executors (a cluster) implement the same two protocols and speak the
same message stream.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from sweatpants.errors import Unavailable
from sweatpants.jobs.protocol import JobSpec


def signal_name(signum: int) -> str:
    """`SIGKILL` for 9; `signal 64` for a number this system has no name for."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass(frozen=True)
class Exit:
    """How a runner ended.

    `code` is the exit code (negative: killed by that signal, as `subprocess` reports it), or
    None when it is not known. `signal` is the name of the signal that ended the process
    (`SIGKILL`), only when one did. `reason` is a sentence that replaces the description when
    the executor knows better (a cluster node died). `resume` says the runner was lost for
    reasons outside the job (its machine went away), so the scheduler may run it again from
    its last checkpoint.
    """

    code: int | None
    signal: str | None = None
    reason: str | None = None
    resume: bool = False

    @classmethod
    def from_code(
        cls, code: int | None, *, reason: str | None = None, resume: bool = False
    ) -> Exit:
        """The exit of a process whose status is `code`, naming the signal if one ended it."""
        killed_by = signal_name(-code) if code is not None and code < 0 else None
        return cls(code=code, signal=killed_by, reason=reason, resume=resume)

    def describe(self) -> str:
        if self.reason:
            return self.reason
        if self.signal:
            return f"the job process was killed by {self.signal}"
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
