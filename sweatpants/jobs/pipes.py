"""The pipes transport of the local executor: job processes that need neither fork nor fd
passing, so jobs run where those are missing (Windows).

Each job process is a fresh interpreter started with `subprocess` running the runner with
`--stdio` (`runner_command`): the daemon writes the job spec and then `cancel` to its stdin,
and reads the protocol frames from its stdout; the runner moves its own stdout aside first
thing, so nothing the module prints can mix into the stream (`sweatpants.jobs.stdio`). A few
runners are started ahead of need and wait for their spec with what the fork server preloads
(httpx) already imported, so a job starts without paying for
an interpreter start (`WARM_RUNNERS`); a module with its own environment gets a fresh runner on
that environment's interpreter.

Each job process leads its own process group (a new session on POSIX, a new process group on
Windows), so a stop reaches what the module started too: cancel (the module sees
`is_cancelled`), then terminate (SIGTERM to the group; Ctrl+Break to the group on Windows),
then kill (SIGKILL to the group; `taskkill /T /F` on Windows, which ends the process tree).
If the daemon goes away, the runner's stdin closes and the job process ends at once, as with
the fork transport, so a restarted daemon resumes the job without a twin.

On POSIX the fork transport (`local`) is the default; `SWEATPANTS_JOB_TRANSPORT=pipes` forces
this one, which is how the tests exercise the Windows path on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

from sweatpants.jobs import envdir, protocol
from sweatpants.jobs.children import runner_command, runner_environment
from sweatpants.jobs.executor import Exit, signal_name
from sweatpants.jobs.protocol import JobSpec

log = logging.getLogger(__name__)

READ_LIMIT = 1024 * 1024
WARM_RUNNERS = 2
STDIO_FLAG = "--stdio"
IDLE_EXIT_SECONDS = 3.0  # how long an idle runner whose stdin was closed is given to end
TASKKILL_SECONDS = 15.0
WINDOWS = sys.platform == "win32"


def _group_options() -> dict[str, Any]:
    """Start the job process as the leader of its own process group."""
    if WINDOWS:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined,unused-ignore]
    return {"start_new_session": True}


def _taskkill(pid: int) -> None:
    """End the process `pid` and every process it started (Windows), off the event loop."""

    def run() -> None:
        command = ["taskkill", "/T", "/F", "/PID", str(pid)]
        try:
            subprocess.run(command, capture_output=True, timeout=TASKKILL_SECONDS, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("taskkill of job process %d failed: %s", pid, exc)

    threading.Thread(target=run, name=f"taskkill-{pid}", daemon=True).start()


async def read_frames(reader: asyncio.StreamReader) -> AsyncIterator[list[list[Any]]]:
    """Protocol frames from `reader` until the stream ends."""
    while True:
        try:
            header = await reader.readexactly(protocol.HEADER.size)
            (length,) = protocol.HEADER.unpack(header)
            body = await reader.readexactly(protocol.check_length(length))
        except asyncio.IncompleteReadError:
            return
        yield protocol.decode_frame(body)


class PipeRun:
    """A job's process on the pipes transport, seen from the scheduler (a `RunHandle`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.pid: int | None = process.pid
        self.node = "local"
        self.sent_signal: str | None = None

    async def frames(self) -> AsyncIterator[list[list[Any]]]:
        assert self._process.stdout is not None
        async for frame in read_frames(self._process.stdout):
            yield frame

    def cancel(self) -> None:
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write(protocol.CANCEL)

    def terminate(self) -> None:
        """Ask the job's process group to end: SIGTERM on POSIX, Ctrl+Break on Windows."""
        if self._process.returncode is not None:
            return
        if WINDOWS:
            self.sent_signal = "CTRL_BREAK_EVENT"
            try:
                os.kill(self._process.pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined,unused-ignore]
            except OSError:  # no console shared with it: end the process itself
                with contextlib.suppress(ProcessLookupError):
                    self._process.terminate()
            return
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """End the job's process tree: SIGKILL to its group, or `taskkill /T /F`."""
        if self._process.returncode is not None:
            return
        if WINDOWS:
            self.sent_signal = "taskkill"
            _taskkill(self._process.pid)
            return
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        self.sent_signal = signal_name(signum)
        try:
            os.killpg(self._process.pid, signum)  # type: ignore[attr-defined,unused-ignore]
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signum)

    async def wait(self) -> Exit:
        code = await self._process.wait()
        if not WINDOWS:  # what the module started and forgot: its group outlives it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)  # type: ignore[attr-defined,unused-ignore]
        if self._process.stdin is not None:
            self._process.stdin.close()
        return Exit.from_code(code)


async def _start_runner(python: str | None = None) -> asyncio.subprocess.Process:
    """A runner waiting for its spec: on the daemon's interpreter, or on `python` (a module
    environment's)."""
    return await asyncio.create_subprocess_exec(
        *runner_command(STDIO_FLAG, python=python),
        env=runner_environment(python),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=READ_LIMIT,
        **_group_options(),
    )


async def _discard(process: asyncio.subprocess.Process) -> None:
    """An idle runner no longer needed: closing its stdin ends it (killed if it lingers)."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), IDLE_EXIT_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class PipesExecutor:
    """The local executor on the pipes transport (`SWEATPANTS_JOB_TRANSPORT=pipes`)."""

    name = "local"

    def __init__(self, warm: int = WARM_RUNNERS) -> None:
        self._warm = warm
        self._idle: list[asyncio.subprocess.Process] = []
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
        try:
            process = await _start_runner()
        except OSError as exc:
            log.warning("could not start a warm job runner: %s", exc)
            return
        if self._closed:
            await _discard(process)
        else:
            self._idle.append(process)

    async def _runner(self) -> asyncio.subprocess.Process:
        """A warm runner waiting for its spec, or a new one when none is ready."""
        while self._idle:
            process = self._idle.pop(0)
            if process.returncode is None and process.stdin and not process.stdin.is_closing():
                self._refill()
                return process
            await _discard(process)
        self._refill()
        return await _start_runner()

    async def launch(self, spec: JobSpec) -> PipeRun:
        if envdir.is_environment(spec.deps_path):  # the module's own packages: its Python
            process = await _start_runner(str(envdir.interpreter(str(spec.deps_path))))
        else:
            process = await self._runner()
        assert process.stdin is not None
        process.stdin.write(json.dumps(spec.to_dict()).encode() + b"\n")
        return PipeRun(process)

    async def close(self) -> None:
        self._closed = True
        if self._starting:  # each discards its runner once it has started
            await asyncio.gather(*self._starting, return_exceptions=True)
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_discard(process) for process in idle))
