"""The local executor: one child process per job, forked from a warm fork server.

A fresh interpreter costs ~120 ms here; forking a process that has already imported the
runner costs a few. So on platforms with `forkserver` we use it (preloading the runner) and
fall back to `spawn` elsewhere. The child's messages come back on a pipe read by the event
loop; its exit is noticed through the process sentinel, without a thread per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

from sweatpants.jobs import protocol, runner
from sweatpants.jobs.executor import Exit
from sweatpants.jobs.protocol import JobSpec

READ_LIMIT = 1024 * 1024


def _start_method() -> str:
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class LocalRun:
    """A job's child process, seen from the daemon."""

    def __init__(
        self,
        process: multiprocessing.process.BaseProcess,
        messages: multiprocessing.connection.Connection,
        control: multiprocessing.connection.Connection,
    ) -> None:
        self._process = process
        self._messages_fd = os.dup(messages.fileno())
        messages.close()
        self._control = control
        self.pid: int | None = process.pid
        self.node = "local"

    async def frames(self) -> AsyncIterator[list[list[Any]]]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        pipe = os.fdopen(self._messages_fd, "rb", buffering=0)
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
        with contextlib.suppress(OSError):  # the process may already be gone
            os.write(self._control.fileno(), protocol.CANCEL)

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()

    async def wait(self) -> Exit:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        sentinel = self._process.sentinel

        def on_end() -> None:
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(sentinel, on_end)
        try:
            if self._process.exitcode is None:
                await ended
        finally:
            loop.remove_reader(sentinel)
        await asyncio.to_thread(self._process.join, 5)
        code = self._process.exitcode
        self._control.close()
        self._process.close()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return Exit(code=code, signal_name=name)
        return Exit(code=code)


class LocalExecutor:
    """Runs jobs as child processes of the daemon."""

    name = "local"

    def __init__(self) -> None:
        self._method = _start_method()
        self._context: Any = multiprocessing.get_context(self._method)
        if self._method == "forkserver":
            self._context.set_forkserver_preload(["sweatpants.jobs.runner"])

    async def start(self) -> None:
        if self._method == "forkserver":
            from multiprocessing import forkserver

            await asyncio.to_thread(forkserver.ensure_running)

    async def launch(self, spec: JobSpec) -> LocalRun:
        messages_in, messages_out = self._context.Pipe(duplex=False)
        control_in, control_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=runner.process_entry,
            args=(spec.to_dict(), messages_out, control_in),
            name=f"sweatpants-job-{spec.job_id[:8]}",
        )
        try:
            await asyncio.to_thread(process.start)
        finally:
            messages_out.close()
            control_in.close()
        return LocalRun(process, messages_in, control_out)

    async def close(self) -> None:
        return None
