"""The `ray` executor, daemon side: a bridge process (the Ray driver) and one RayRun per job.

The daemon never imports Ray. It starts `python -m sweatpants.jobs.ray.bridge` on first use
(or at start when `ray` is the default executor), talks to it over a socketpair (`wire`),
and turns its events into the `RunHandle` the scheduler knows: frames parsed from the
runner's relayed bytes, `cancel` / `terminate` / `kill` forwarded to the job's actor, and an
`Exit` at the end. If the bridge dies (the cluster's GCS went away, or a crash) every Ray job
ends with `resume=True`: the scheduler puts it back in the queue from its checkpoint, and the
next launch finds the cluster again or fails fast saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from sweatpants.config import Settings
from sweatpants.jobs import protocol
from sweatpants.jobs.executor import Exit, LaunchError
from sweatpants.jobs.protocol import JobSpec
from sweatpants.jobs.ray import wire

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 45.0
BRIDGE_STOP_SECONDS = 10.0
LOG_TAIL_BYTES = 2000


class RayRun:
    """One job on the cluster, seen from the daemon."""

    def __init__(self, bridge: BridgeProcess, job_id: str) -> None:
        self._bridge = bridge
        self._job_id = job_id
        self.pid: int | None = None
        self.node = "ray"
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._exit: asyncio.Future[Exit] = asyncio.get_running_loop().create_future()

    # events from the bridge
    def on_started(self, pid: int | None, node: str) -> None:
        self.pid, self.node = pid, node
        if not self.started.done():
            self.started.set_result(None)

    def on_launch_failed(self, error: str) -> None:
        if not self.started.done():
            self.started.set_exception(LaunchError(error))

    def on_data(self, payload: bytes) -> None:
        self._chunks.put_nowait(payload)

    def on_exit(self, exit_info: Exit) -> None:
        if not self.started.done():
            self.started.set_exception(LaunchError(exit_info.describe()))
        if not self._exit.done():
            self._chunks.put_nowait(None)
            self._exit.set_result(exit_info)

    # RunHandle
    async def frames(self) -> AsyncIterator[list[list[Any]]]:
        buffer = bytearray()
        while True:
            chunk = await self._chunks.get()
            if chunk is None:
                return
            self._bridge.send({"op": "more", "job": self._job_id})
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= protocol.HEADER.size:
                length = protocol.check_length(protocol.HEADER.unpack_from(buffer, offset)[0])
                end = offset + protocol.HEADER.size + length
                if end > len(buffer):
                    break
                body = bytes(buffer[offset + protocol.HEADER.size : end])
                offset = end
                yield protocol.decode_frame(body)
            del buffer[:offset]

    def cancel(self) -> None:
        self._bridge.send({"op": "cancel", "job": self._job_id})

    def terminate(self) -> None:
        self._bridge.send({"op": "terminate", "job": self._job_id})

    def kill(self) -> None:
        self._bridge.send({"op": "kill", "job": self._job_id})

    async def wait(self) -> Exit:
        return await self._exit


class BridgeProcess:
    """The bridge process (which runs the Ray driver, `bridge.RayDriver`), as the daemon
    holds it: the process and the daemon's end of its socket."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.log_path = settings.data_dir / "ray-bridge.log"
        self.process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.runs: dict[str, RayRun] = {}
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.status: dict[str, Any] = {}
        self.alive = True
        self._reader_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env[Settings.env_name("ray_address")] = self._settings.ray_address
        env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sweatpants.jobs.ray.bridge",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=env,
                start_new_session=True,  # Ctrl+C in the daemon's terminal is the daemon's
            )
        theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self._reader_task = asyncio.get_running_loop().create_task(self._read(reader))

    def send(self, message: dict[str, Any]) -> None:
        if self._writer is not None and self.alive:
            self._writer.write(wire.encode(message))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                received = await wire.read(reader)
                if received is None:
                    break
                self._dispatch(*received)
        except Exception:
            log.exception("ray bridge: bad message")
        finally:
            await self._lost()

    def _dispatch(self, message: dict[str, Any], payload: bytes) -> None:
        event = message.get("ev")
        run = self.runs.get(message.get("job", ""))
        if event == "data" and run is not None:
            run.on_data(payload)
        elif event == "status":
            self.status = {k: v for k, v in message.items() if k != "ev"}
            self.status["updated_at"] = time.time()
        elif event == "started" and run is not None:
            run.on_started(message.get("pid"), str(message.get("node") or "ray"))
        elif event == "launch_failed" and run is not None:
            self.runs.pop(run_id(message), None)
            run.on_launch_failed(str(message.get("error")))
        elif event == "exit" and run is not None:
            self.runs.pop(run_id(message), None)
            run.on_exit(
                Exit.from_code(
                    message.get("code"),
                    reason=message.get("reason"),
                    resume=bool(message.get("resume")),
                )
            )
        elif event == "ready" and not self.ready.done():
            self.ready.set_result(message)
        elif event == "failed" and not self.ready.done():
            self.ready.set_exception(LaunchError(self._unreachable(str(message.get("error")))))

    def _unreachable(self, why: str) -> str:
        address = self._settings.ray_address or "auto"
        return f"cannot reach the Ray cluster at {address}: {why}"

    async def _lost(self) -> None:
        self.alive = False
        code = None
        if self.process is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(self.process.wait(), BRIDGE_STOP_SECONDS)
        tail = self.log_tail()
        why = f"the Ray bridge process ended (exit code {code})" + (f": {tail}" if tail else "")
        if not self.ready.done():
            self.ready.set_exception(LaunchError(self._unreachable(why)))
        for run in list(self.runs.values()):
            run.on_exit(Exit(code=None, reason=f"lost the Ray cluster: {why}", resume=True))
        self.runs.clear()

    def log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - LOG_TAIL_BYTES))
                lines = file.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        meaningful = [line for line in lines if "network_util" not in line]
        return meaningful[-1].strip() if meaningful else ""

    async def stop(self) -> None:
        self.alive = False
        if self._writer is not None:
            self._writer.close()
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), BRIDGE_STOP_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)


def run_id(message: dict[str, Any]) -> str:
    return str(message.get("job", ""))


class RayExecutor:
    """Runs jobs on a Ray cluster through a bridge process started on demand."""

    name = "ray"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._bridge: BridgeProcess | None = None
        self._lock: asyncio.Lock | None = None
        self._last_error: str | None = None
        self._connect_task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        """Connect in the background: the daemon does not wait for the cluster to start."""
        self._connect_task = asyncio.get_running_loop().create_task(self._connect_quietly())

    async def _connect_quietly(self) -> None:
        with contextlib.suppress(LaunchError):
            await self._connected()

    async def _connected(self) -> BridgeProcess:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._bridge is not None and self._bridge.alive:
                return self._bridge
            if importlib.util.find_spec("ray") is None:
                self._last_error = (
                    "Ray is not installed in the daemon's Python: "
                    f"{sys.executable} -m pip install 'sweatpants[ray]'"
                )
                raise LaunchError(self._last_error)
            bridge = BridgeProcess(self._settings)
            await bridge.start()
            try:
                await asyncio.wait_for(asyncio.shield(bridge.ready), CONNECT_TIMEOUT)
            except TimeoutError:
                await bridge.stop()
                self._last_error = bridge._unreachable(f"no answer within {CONNECT_TIMEOUT:g}s")
                raise LaunchError(self._last_error) from None
            except LaunchError as exc:
                await bridge.stop()
                self._last_error = exc.detail
                raise
            self._bridge, self._last_error = bridge, None
            return bridge

    async def launch(self, spec: JobSpec) -> RayRun:
        bridge = await self._connected()
        run = RayRun(bridge, spec.job_id)
        bridge.runs[spec.job_id] = run
        bridge.send({"op": "launch", "job": spec.job_id, "spec": spec.to_dict()})
        try:
            await run.started
        except asyncio.CancelledError:
            bridge.send({"op": "kill", "job": spec.job_id})
            raise
        return run

    def status(self) -> dict[str, Any]:
        bridge = self._bridge
        connected = bridge is not None and bridge.alive and bridge.ready.done()
        body: dict[str, Any] = {
            "address": self._settings.ray_address or "auto",
            "connected": connected,
            "error": self._last_error,
        }
        if connected and bridge is not None:
            body.update(bridge.status)
        return body

    async def close(self) -> None:
        if self._connect_task is not None:
            self._connect_task.cancel()
            await asyncio.gather(self._connect_task, return_exceptions=True)
        if self._bridge is not None:
            await self._bridge.stop()
            self._bridge = None
