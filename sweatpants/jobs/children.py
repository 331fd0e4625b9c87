"""Where the local executor's job processes come from, as the daemon holds them (`Child`).

Where the OS can fork, from the fork server (`ForkServer` here is the daemon's side of
`sweatpants.jobs.forkserver`): a warm process with the runner imported, so a job starts in a
few milliseconds of CPU instead of the ~150 ms a fresh interpreter costs. Elsewhere (or if the
fork server cannot start), from a small pool of fresh interpreters started ahead of need
(`WarmPool`). Either way a child waits for its job spec on its control pipe.

The fork server is the parent of its children: it reaps them and reports their exit status.
If it dies they run on, adopted by the system's reaper, so their `exited` raises `ChildLost`
and their `pidfd` (Linux) is what still shows their end; see `local.LocalRun`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable

log = logging.getLogger(__name__)

EVENTS_READ_LIMIT = 1024 * 1024
WARM_RUNNERS = 2
RUNNER_FLAG = "--sweatpants-job-runner"


def runner_command(*fd_args: str, python: str | None = None) -> list[str]:
    """How to start a runner: this interpreter, or the frozen app re-entering itself; or
    `python`, a module environment's interpreter (which imports `sweatpants` from a .pth)."""
    if python is not None:
        return [python, "-m", "sweatpants.jobs.runner", *fd_args]
    if getattr(sys, "frozen", False):
        return [sys.executable, RUNNER_FLAG, *fd_args]
    return [sys.executable, "-m", "sweatpants.jobs.runner", *fd_args]


def runner_environment(python: str | None) -> dict[str, str] | None:
    """The variables of a runner on another interpreter: none pointing at the daemon's
    packages (None: the daemon's own, unchanged)."""
    if python is None:
        return None
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


async def _control_transport(fd: int) -> asyncio.WriteTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_write_pipe(
        asyncio.BaseProtocol, os.fdopen(fd, "wb", buffering=0)
    )
    return transport


class Child:
    """A job's process, as the daemon holds it: pid, its pipe ends, and its exit code."""

    def __init__(
        self,
        pid: int,
        messages_fd: int,
        control: asyncio.WriteTransport,
        exited: Awaitable[int],
        pidfd: int | None = None,
    ) -> None:
        self.pid = pid
        self.messages_fd = messages_fd
        self.control = control
        self.exited = exited  # raises ChildLost if its fork server ended before reporting it
        self.pidfd = pidfd  # shows its end even when nobody can report it (fork children)
        self.returncode: int | None = None

    def close_pidfd(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def discard(self) -> None:
        """An idle child no longer needed: closing its control pipe makes it exit."""
        self.control.close()
        os.close(self.messages_fd)
        self.close_pidfd()


def _open_pidfd(pid: int) -> int | None:
    """A pidfd for `pid` (Linux 5.3+): it becomes readable when the process ends, whoever its
    parent is by then. None where there are no pidfds, or if the process has already gone."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        pidfd: int = pidfd_open(pid)
    except OSError:
        return None
    return pidfd


class ForkServerGone(Exception):
    """The fork server ended before it started the child asked for (no child is running)."""


class ChildLost(Exception):
    """The fork server ended before reporting a child's exit (the child may still run)."""


class ForkServer:
    """The daemon's side of the fork server: ask for children, learn their exits. `python`:
    run it on that interpreter (a module environment's) instead of the daemon's."""

    def __init__(self, python: str | None = None) -> None:
        self._python = python
        self._process: asyncio.subprocess.Process | None = None
        self._requests: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        # Requests are answered in order; each answer is the pid, a future of its exit code
        # and a pidfd for it (or None).
        self._starting: collections.deque[
            asyncio.Future[tuple[int, asyncio.Future[int], int | None]]
        ] = collections.deque()
        self._exits: dict[int, asyncio.Future[int]] = {}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> int:
        """Children it started whose exit it has not reported yet."""
        return sum(1 for exited in self._exits.values() if not exited.done())

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        events_r, events_w = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *runner_command(
                    "--request-fd", str(theirs.fileno()), "--events-fd", str(events_w),
                    python=self._python,
                ),
                pass_fds=(theirs.fileno(), events_w),
                stdin=asyncio.subprocess.DEVNULL,
                env=runner_environment(self._python),
            )  # fmt: skip
        except BaseException:
            ours.close()
            os.close(events_r)
            raise
        finally:
            theirs.close()
            os.close(events_w)
        self._requests = ours
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=EVENTS_READ_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(events_r, "rb", buffering=0)
        )
        self._reader = loop.create_task(self._read_events(reader))

    @property
    def alive(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def start_child(self) -> Child:
        """A new child process, waiting for its job spec. ForkServerGone if the server ended
        before it could start one."""
        if self._requests is None or not self.alive:
            raise ForkServerGone("the fork server is not running")
        messages_r, messages_w = os.pipe()
        control_r, control_w = os.pipe()
        started: asyncio.Future[tuple[int, asyncio.Future[int], int | None]] = (
            asyncio.get_running_loop().create_future()
        )
        try:
            self._starting.append(started)
            try:
                socket.send_fds(self._requests, [b"F"], [messages_w, control_r])
            except OSError as exc:
                self._starting.remove(started)
                raise ForkServerGone(f"the fork server took no request ({exc})") from None
            finally:
                os.close(messages_w)
                os.close(control_r)
            pid, exited, pidfd = await started
        except BaseException:
            # A child forked for a request nobody waits for sees its control pipe close: it ends.
            os.close(messages_r)
            os.close(control_w)
            raise
        return Child(pid, messages_r, await _control_transport(control_w), exited, pidfd)

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while line := await reader.readline():
                event = json.loads(line)
                if "started" in event:
                    pid = event["started"]
                    exited = self._exits.setdefault(pid, loop.create_future())
                    pidfd = _open_pidfd(pid)
                    waiting = self._starting.popleft() if self._starting else None
                    if waiting is not None and not waiting.done():
                        waiting.set_result((pid, exited, pidfd))
                    elif pidfd is not None:
                        os.close(pidfd)
                elif "exited" in event:
                    pid = event["exited"]
                    exited = self._exits.pop(pid, loop.create_future())
                    if not exited.done():
                        exited.set_result(event["code"])
        finally:
            self._server_ended()

    def _server_ended(self) -> None:
        """Nobody will start children or report their exits any more."""
        running = [pid for pid, exited in self._exits.items() if not exited.done()]
        if not self._closing:
            log.warning(
                "the fork server (pid %s) ended unexpectedly; the %d job process(es) it "
                "started run on, and the next job gets a new fork server",
                self.pid,
                len(running),
            )
        for waiting in self._starting:
            if not waiting.done():
                waiting.set_exception(ForkServerGone("the fork server ended before answering"))
        self._starting.clear()
        for pid, exited in self._exits.items():
            if not exited.done():
                exited.set_exception(ChildLost(pid))
        self._exits.clear()

    async def close(self) -> None:
        self._closing = True
        if self._requests is not None:
            self._requests.close()
            self._requests = None
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=5)


class WarmPool:
    """Fresh interpreters started ahead of need, for systems without a fork server."""

    def __init__(self, size: int = WARM_RUNNERS, python: str | None = None) -> None:
        self._size = size
        self._python = python
        self._idle: list[Child] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        self._refill()

    async def start_child(self) -> Child:
        """A warm child (a fresh interpreter waiting for its job spec)."""
        child = None
        while self._idle and child is None:
            candidate = self._idle.pop(0)
            if candidate.returncode is None and not candidate.control.is_closing():
                child = candidate
            else:
                candidate.discard()
        self._refill()
        return child if child is not None else await self._start_one()

    def _refill(self) -> None:
        for _ in range(max(0, self._size - len(self._idle) - len(self._starting))):
            task = asyncio.get_running_loop().create_task(self._add_idle())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _add_idle(self) -> None:
        child = await self._start_one()
        if self._closed:
            child.discard()
        else:
            self._idle.append(child)

    async def _start_one(self) -> Child:
        messages_r, messages_w = os.pipe()
        control_r, control_w = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *runner_command(
                    "--messages-fd", str(messages_w), "--control-fd", str(control_r),
                    python=self._python,
                ),
                pass_fds=(messages_w, control_r),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                env=runner_environment(self._python),
            )  # fmt: skip
        except BaseException:
            os.close(messages_r)
            os.close(control_w)
            raise
        finally:
            os.close(messages_w)
            os.close(control_r)
        child = Child(process.pid, messages_r, await _control_transport(control_w), process.wait())
        return child

    async def close(self) -> None:
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        idle, self._idle = self._idle, []
        for child in idle:
            child.discard()
        for child in idle:
            with contextlib.suppress(TimeoutError, ChildLost):
                await asyncio.wait_for(child.exited, 3)


def fork_available() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds")
