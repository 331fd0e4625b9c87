"""The local executor: one child process per job on this machine.

Where the OS can fork, children come from a fork server (`sweatpants.jobs.forkserver`): a
warm process with the runner imported, so a job starts in a few milliseconds of CPU instead
of the ~150 ms a fresh interpreter costs. Elsewhere (or if the fork server cannot start),
children are fresh interpreters kept warm in a small pool, started before they are needed.

Either way a job's child owns two pipes whose other ends the daemon holds: messages (child →
daemon, protocol frames) and control (daemon → child: the spec line, then `cancel`). If the
daemon dies the control pipe closes and the child exits at once. Each child is its own
session, so stopping a job signals its whole process group.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from sweatpants.jobs import protocol
from sweatpants.jobs.executor import Exit
from sweatpants.jobs.protocol import JobSpec

log = logging.getLogger(__name__)

READ_LIMIT = 1024 * 1024
WARM_RUNNERS = 2
RUNNER_FLAG = "--sweatpants-job-runner"


def runner_command(*fd_args: str) -> list[str]:
    """How to start a runner: this interpreter, or the frozen app re-entering itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, RUNNER_FLAG, *fd_args]
    return [sys.executable, "-m", "sweatpants.jobs.runner", *fd_args]


async def _control_transport(fd: int) -> asyncio.WriteTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_write_pipe(
        asyncio.BaseProtocol, os.fdopen(fd, "wb", buffering=0)
    )
    return transport


class Child:
    """A job's process, as the daemon holds it: pid, its pipe ends, and its exit code."""

    def __init__(
        self, pid: int, messages_fd: int, control: asyncio.WriteTransport, exited: Awaitable[int]
    ) -> None:
        self.pid = pid
        self.messages_fd = messages_fd
        self.control = control
        self.exited = exited
        self.returncode: int | None = None

    def discard(self) -> None:
        """An idle child no longer needed: closing its control pipe makes it exit."""
        self.control.close()
        os.close(self.messages_fd)


class ForkServer:
    """The daemon's side of the fork server: ask for children, learn their exits."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._requests: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        # Requests are answered in order; each answer is the pid and a future of its exit code.
        self._starting: collections.deque[asyncio.Future[tuple[int, asyncio.Future[int]]]] = (
            collections.deque()
        )
        self._exits: dict[int, asyncio.Future[int]] = {}

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        events_r, events_w = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *runner_command("--request-fd", str(theirs.fileno()), "--events-fd", str(events_w)),
                pass_fds=(theirs.fileno(), events_w),
                stdin=asyncio.subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            os.close(events_r)
            raise
        finally:
            theirs.close()
            os.close(events_w)
        self._requests = ours
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(events_r, "rb", buffering=0)
        )
        self._reader = loop.create_task(self._read_events(reader))

    @property
    def alive(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def spawn(self) -> Child:
        if self._requests is None or not self.alive:
            raise RuntimeError("the fork server is not running")
        messages_r, messages_w = os.pipe()
        control_r, control_w = os.pipe()
        started: asyncio.Future[tuple[int, asyncio.Future[int]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._starting.append(started)
        try:
            socket.send_fds(self._requests, [b"F"], [messages_w, control_r])
        except OSError:
            self._starting.remove(started)
            for fd in (messages_r, control_w):
                os.close(fd)
            raise
        finally:
            os.close(messages_w)
            os.close(control_r)
        pid, exited = await started
        return Child(pid, messages_r, await _control_transport(control_w), exited)

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while line := await reader.readline():
                event = json.loads(line)
                if "started" in event:
                    pid = event["started"]
                    exited = self._exits.setdefault(pid, loop.create_future())
                    if self._starting:
                        self._starting.popleft().set_result((pid, exited))
                elif "exited" in event:
                    pid = event["exited"]
                    exited = self._exits.pop(pid, loop.create_future())
                    if not exited.done():
                        exited.set_result(event["code"])
        finally:
            # The server is gone: nobody will report these children's exits any more.
            for waiting in self._starting:
                waiting.set_exception(RuntimeError("the fork server ended"))
            self._starting.clear()
            for pid, exited in self._exits.items():
                if not exited.done():
                    exited.set_exception(ChildLost(pid))
            self._exits.clear()

    async def close(self) -> None:
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


class ChildLost(Exception):
    """The fork server ended before reporting a child's exit."""


class WarmPool:
    """Fresh interpreters started ahead of need, for systems without a fork server."""

    def __init__(self, size: int = WARM_RUNNERS) -> None:
        self._size = size
        self._idle: list[Child] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        self._refill()

    async def spawn(self) -> Child:
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
                *runner_command("--messages-fd", str(messages_w), "--control-fd", str(control_r)),
                pass_fds=(messages_w, control_r),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
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


class LocalRun:
    """A job's child process, seen from the scheduler."""

    def __init__(self, child: Child) -> None:
        self._child = child
        self.pid: int | None = child.pid
        self.node = "local"

    async def frames(self) -> AsyncIterator[list[list[Any]]]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        pipe = os.fdopen(self._child.messages_fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        try:
            while True:
                try:
                    header = await reader.readexactly(protocol.HEADER.size)
                    (length,) = protocol.HEADER.unpack(header)
                    body = await reader.readexactly(protocol.check_length(length))
                except asyncio.IncompleteReadError:
                    return
                yield protocol.decode_frame(body)
        finally:
            transport.close()

    def cancel(self) -> None:
        if not self._child.control.is_closing():
            self._child.control.write(protocol.CANCEL)

    def terminate(self) -> None:
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        """Signal the job's whole process group: the module's own subprocesses go too."""
        if self._child.returncode is not None:
            return
        try:
            os.killpg(self._child.pid, signum)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child.pid, signum)

    async def wait(self) -> Exit:
        try:
            code: int | None = await self._child.exited
        except ChildLost:
            code = None
        self._child.returncode = code if code is not None else -1
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._child.pid, signal.SIGKILL)  # leftovers the module started and forgot
        self._child.control.close()
        if code is None:
            return Exit(code=None, signal_name="an unknown cause (the fork server ended)")
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return Exit(code=code, signal_name=name)
        return Exit(code=code)


def fork_available() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds")


class LocalExecutor:
    """Runs each job in its own child process of this machine."""

    name = "local"

    def __init__(self, use_fork_server: bool | None = None) -> None:
        self._use_fork = fork_available() if use_fork_server is None else use_fork_server
        self._fork_server: ForkServer | None = None
        self._pool = WarmPool()

    async def start(self) -> None:
        if self._use_fork:
            await self._ensure_fork_server()
        else:
            await self._pool.start()

    async def _ensure_fork_server(self) -> ForkServer | None:
        if self._fork_server is not None and self._fork_server.alive:
            return self._fork_server
        server = ForkServer()
        try:
            await server.start()
        except OSError as exc:
            log.warning("no fork server (%s); starting job processes afresh", exc)
            self._use_fork = False
            return None
        self._fork_server = server
        return server

    async def launch(self, spec: JobSpec) -> LocalRun:
        server = await self._ensure_fork_server() if self._use_fork else None
        child = await server.spawn() if server is not None else await self._pool.spawn()
        child.control.write(json.dumps(spec.to_dict()).encode() + b"\n")
        return LocalRun(child)

    async def close(self) -> None:
        if self._fork_server is not None:
            await self._fork_server.close()
        await self._pool.close()
