"""The local executor: one child process per job, started before it is needed.

A fresh interpreter that imports the runner costs ~150 ms here, too much to pay between
`POST /jobs` and the module's first line. So the executor keeps a few runners warm: started,
imported, and waiting for a job spec on their control pipe. Launching a job hands an idle
runner its spec and starts a replacement in the background; a burst larger than the warm
pool simply starts more.

Each runner is a plain subprocess of the daemon (asyncio reaps it and reports the real exit
code or signal) in its own session, so stopping a job signals its whole process group. Two
pipes per runner, both owned here: messages (runner → daemon, protocol frames) and control
(daemon → runner: the spec line, then `cancel`). If the daemon dies, the control pipe closes
and the runner exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

from sweatpants.jobs import protocol
from sweatpants.jobs.executor import Exit
from sweatpants.jobs.protocol import JobSpec

READ_LIMIT = 1024 * 1024
WARM_RUNNERS = 2
RUNNER_FLAG = "--sweatpants-job-runner"


def runner_command(messages_fd: int, control_fd: int) -> list[str]:
    """How to start a runner: this interpreter, or the frozen app re-entering itself."""
    fds = ["--messages-fd", str(messages_fd), "--control-fd", str(control_fd)]
    if getattr(sys, "frozen", False):
        return [sys.executable, RUNNER_FLAG, *fds]
    return [sys.executable, "-m", "sweatpants.jobs.runner", *fds]


class Runner:
    """A started runner process and the daemon's ends of its two pipes."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        messages_fd: int,
        control: asyncio.WriteTransport,
    ) -> None:
        self.process = process
        self.messages_fd = messages_fd
        self.control = control

    @classmethod
    async def start(cls) -> Runner:
        messages_r, messages_w = os.pipe()
        control_r, control_w = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *runner_command(messages_w, control_r),
                pass_fds=(messages_w, control_r),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            for fd in (messages_r, messages_w, control_r, control_w):
                os.close(fd)
            raise
        os.close(messages_w)
        os.close(control_r)
        loop = asyncio.get_running_loop()
        control, _ = await loop.connect_write_pipe(
            asyncio.BaseProtocol, os.fdopen(control_w, "wb", buffering=0)
        )
        return cls(process, messages_r, control)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.control.is_closing()

    def discard(self) -> None:
        """An idle runner no longer needed: closing its control pipe makes it exit."""
        self.control.close()
        os.close(self.messages_fd)


class LocalRun:
    """A job's runner, seen from the daemon."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self.pid: int | None = runner.process.pid
        self.node = "local"

    async def frames(self) -> AsyncIterator[list[list[Any]]]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        pipe = os.fdopen(self._runner.messages_fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        try:
            while True:
                try:
                    header = await reader.readexactly(protocol.HEADER.size)
                    (length,) = protocol.HEADER.unpack(header)
                    body = await reader.readexactly(length)
                except asyncio.IncompleteReadError:
                    return
                yield protocol.decode_frame(body)
        finally:
            transport.close()

    def cancel(self) -> None:
        if not self._runner.control.is_closing():
            self._runner.control.write(protocol.CANCEL)

    def terminate(self) -> None:
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        """Signal the job's whole process group: the module's own subprocesses go too."""
        if self.pid is None or self._runner.process.returncode is not None:
            return
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    async def wait(self) -> Exit:
        code = await self._runner.process.wait()
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # leftovers the module started and forgot
        self._runner.control.close()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return Exit(code=code, signal_name=name)
        return Exit(code=code)


class LocalExecutor:
    """Runs each job in its own child process of the daemon, from a small warm pool."""

    name = "local"

    def __init__(self, warm: int = WARM_RUNNERS) -> None:
        self._warm = warm
        self._idle: list[Runner] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        self._refill()

    def _refill(self) -> None:
        missing = self._warm - len(self._idle) - len(self._starting)
        for _ in range(max(0, missing)):
            task = asyncio.get_running_loop().create_task(self._add_idle())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _add_idle(self) -> None:
        runner = await Runner.start()
        if self._closed:
            runner.discard()
        else:
            self._idle.append(runner)

    async def _take(self) -> Runner:
        while self._idle:
            runner = self._idle.pop(0)
            if runner.alive:
                return runner
            runner.discard()
        return await Runner.start()

    async def launch(self, spec: JobSpec) -> LocalRun:
        runner = await self._take()
        self._refill()
        runner.control.write(json.dumps(spec.to_dict()).encode() + b"\n")
        return LocalRun(runner)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        idle, self._idle = self._idle, []
        for runner in idle:
            runner.discard()
        for runner in idle:
            try:
                await asyncio.wait_for(runner.process.wait(), 3)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    runner.process.kill()
