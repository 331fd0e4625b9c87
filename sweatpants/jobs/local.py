"""The local executor: one child process per job on this machine.

Job processes come from the fork server, or fresh interpreters kept warm where there is none
(`children`). Either way a job's child owns two pipes whose other ends the daemon holds:
messages (child → daemon, protocol frames) and control (daemon → child: the spec line, then
`cancel`). If the daemon dies the control pipe closes and the child exits at once. Each child
is its own session, so stopping a job signals its whole process group.

The fork server is not a single point of failure. It is the parent of its children, so it is
the one that reaps them and reports their exit status; if it dies, they run on: the system's
reaper adopts them (the daemon is not their parent and cannot wait for them), and they still
talk to the daemon over their own pipes. For those jobs the daemon learns the end from a
pidfd (Linux; elsewhere, from the end of the job's stream) and how it ended from the runner's
last frame (`protocol`): done, error, or nothing at all, in which case the job resumes from
its checkpoint. The next job gets a new fork server.

A job of a module with an environment of its own starts from that environment's warm
starter instead (`envstarters`): the same fork server, on the environment's interpreter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from sweatpants.jobs import envdir, protocol
from sweatpants.jobs.children import (
    Child,
    ChildLost,
    ForkServer,
    ForkServerGone,
    WarmPool,
    fork_available,
)
from sweatpants.jobs.envstarters import EnvStarters
from sweatpants.jobs.executor import Exit, signal_name
from sweatpants.jobs.protocol import JobSpec

log = logging.getLogger(__name__)

READ_LIMIT = 1024 * 1024
FORK_ATTEMPTS = 2  # fork servers tried for one job before it gets a fresh interpreter instead
STREAM_IDLE_SECONDS = 30.0  # an orphaned job's stream: how long silence is waited for its end
ENV_STARTER_IDLE_SECONDS = 600.0  # SWEATPANTS_ENV_STARTER_IDLE_SECONDS sets it for a daemon
LAST_WORDS = (protocol.DONE, protocol.ERROR)


class LocalRun:
    """A job's child process, seen from the scheduler."""

    def __init__(self, child: Child) -> None:
        self._child = child
        self.pid: int | None = child.pid
        self.node = "local"
        self._last_word: str | None = None  # DONE or ERROR, once the runner has said it
        self._stream_ended = asyncio.Event()
        self._frame_at = time.monotonic()
        self._sent_signal: str | None = None

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
                frame = protocol.decode_frame(body)
                self._frame_at = time.monotonic()
                # The runner flushes its last word at once: it ends the frame it is in.
                if frame and frame[-1] and frame[-1][0] in LAST_WORDS:
                    self._last_word = frame[-1][0]
                yield frame
        finally:
            transport.close()
            self._stream_ended.set()

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
        self._sent_signal = signal_name(signum)
        try:
            os.killpg(self._child.pid, signum)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child.pid, signum)

    async def wait(self) -> Exit:
        try:
            exit_info = Exit.from_code(await self._child.exited)
        except ChildLost:
            exit_info = await self._outlived_fork_server()
        self._child.returncode = exit_info.code if exit_info.code is not None else -1
        self._kill_leftovers()
        self._child.control.close()
        self._child.close_pidfd()
        return exit_info

    def _kill_leftovers(self) -> None:
        """What the module started and forgot (its process group outlives it)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._child.pid, signal.SIGKILL)

    async def _outlived_fork_server(self) -> Exit:
        """The fork server ended before it could report this job's exit; the job process ran
        on without it. Wait for its end, read its stream to the end, and tell from its last
        frame how it ended; a job that ended without a word resumes from its checkpoint."""
        await self._process_gone()
        self._kill_leftovers()
        await self._stream_read()
        if self._last_word == protocol.DONE:
            return Exit(code=protocol.EXIT_DONE)
        if self._last_word == protocol.ERROR:
            return Exit(code=protocol.EXIT_ERROR)
        if self._sent_signal is not None:
            return Exit(
                code=None,
                reason=f"the job process ended after it was sent {self._sent_signal} (its "
                "exit status is unknown: the fork server that started it had ended)",
            )
        return Exit(
            code=None,
            reason="the job process ended without saying how, after the fork server that "
            "started it had ended",
            resume=True,
        )

    async def _process_gone(self) -> None:
        """Until the job's process has ended: its pidfd turns readable (it works whoever the
        parent is); with no pidfd, its stream's end (it holds the stream until it ends)."""
        pidfd = self._child.pidfd
        if pidfd is None:
            await self._stream_ended.wait()
            return
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(pidfd, readable)
        try:
            await gone
        finally:
            loop.remove_reader(pidfd)

    async def _stream_read(self) -> None:
        """Until the scheduler has read the job's stream to its end (its last word is in it);
        give up when nothing has come for STREAM_IDLE_SECONDS (something the module started,
        outside its process group, holds the pipe open)."""
        while not self._stream_ended.is_set():
            silent = time.monotonic() - self._frame_at
            if silent >= STREAM_IDLE_SECONDS:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stream_ended.wait(), STREAM_IDLE_SECONDS - silent)


class LocalExecutor:
    """Runs each job in its own child process of this machine."""

    name = "local"

    def __init__(
        self,
        use_fork_server: bool | None = None,
        *,
        env_idle_seconds: float = ENV_STARTER_IDLE_SECONDS,
    ) -> None:
        self._use_fork = fork_available() if use_fork_server is None else use_fork_server
        self._fork_server: ForkServer | None = None
        self._fork_server_lock = asyncio.Lock()
        self._pool = WarmPool()
        self.env_starters = EnvStarters(env_idle_seconds, use_fork=self._use_fork)

    @property
    def fork_server_pid(self) -> int | None:
        """The running fork server's pid (None if there is none)."""
        server = self._fork_server
        return server.pid if server is not None and server.alive else None

    async def start(self) -> None:
        if self._use_fork:
            await self._fork_server_ready()
        else:
            await self._pool.start()

    async def _fork_server_ready(self) -> ForkServer | None:
        """The fork server, started now if there is none or the last one ended; None if this
        system cannot run one (then jobs get fresh interpreters)."""
        async with self._fork_server_lock:
            current = self._fork_server
            if current is not None and current.alive:
                return current
            if current is not None:
                await current.close()  # it ended: collect it before starting the next
            server = ForkServer()
            try:
                await server.start()
            except OSError as exc:
                log.warning("no fork server (%s); starting job processes afresh", exc)
                self._use_fork = False
                self._fork_server = None
                return None
            self._fork_server = server
            return server

    async def _start_child(self) -> Child:
        for _attempt in range(FORK_ATTEMPTS):
            server = await self._fork_server_ready() if self._use_fork else None
            if server is None:
                break
            try:
                return await server.start_child()
            except ForkServerGone as exc:
                log.warning("%s; trying a new one", exc)
        else:
            log.warning("no fork server would start a job process; starting one afresh")
        return await self._pool.start_child()

    async def launch(self, spec: JobSpec) -> LocalRun:
        if envdir.is_environment(spec.deps_path):  # the module's own packages
            child = await self.env_starters.start_child(str(spec.deps_path))
        else:
            child = await self._start_child()
        child.control.write(json.dumps(spec.to_dict()).encode() + b"\n")
        return LocalRun(child)

    async def close(self) -> None:
        if self._fork_server is not None:
            await self._fork_server.close()
        await self._pool.close()
        await self.env_starters.close()
