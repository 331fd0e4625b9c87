"""The pipes transport (the Windows one) on its own, with real job processes: jobs run over the
child's stdin/stdout, what a module prints never corrupts the stream, a stop escalates from
cancel to terminate to killing the job's process tree, and a runner whose daemon goes away
ends at once. The daemon-level job tests also run on it (`SWEATPANTS_JOB_TRANSPORT=pipes`,
see scripts/check)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sweatpants.config import Settings
from sweatpants.engine import make_local_executor
from sweatpants.errors import ConfigError
from sweatpants.jobs import protocol
from sweatpants.jobs.executor import Exit
from sweatpants.jobs.local import LocalExecutor
from sweatpants.jobs.pipes import PipeRun, PipesExecutor, read_frames
from tests.support.daemon import alive, wait_for
from tests.support.modules import write_module

NOISY = """
import asyncio, os, subprocess, sys
from sweatpants import Module

class Noisy(Module):
    async def run(self, inputs, settings):
        print("printed line")
        os.write(1, b"raw bytes on fd 1\\n")
        subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
        await self.log("hello from " + self.job_id)
        for i in range(inputs["n"]):
            yield {"i": i}
"""

STUBBORN = """
import asyncio, signal, subprocess, sys
from pathlib import Path
from sweatpants import Module

class Stubborn(Module):
    async def run(self, inputs, settings):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(
            [sys.executable, "-c", "import signal, time; "
             "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"]
        )
        Path(inputs["pidfile"]).write_text(str(child.pid))
        yield {"started": child.pid}
        while True:  # ignores is_cancelled and SIGTERM
            await asyncio.sleep(0.05)
"""

LINGER = """
import asyncio
from sweatpants import Module

class Linger(Module):
    async def run(self, inputs, settings):
        yield {"i": 0}
        while not self.is_cancelled:
            await asyncio.sleep(0.02)
        await self.log("cancelled cleanly")
"""


def spec(module_dir: Path, module_id: str, job_id: str, **inputs: object) -> protocol.JobSpec:
    return protocol.JobSpec(
        job_id=job_id,
        module_id=module_id,
        module_dir=str(module_dir),
        entrypoint="main.py",
        deps_path=None,
        inputs=dict(inputs),
        settings={},
        checkpoint=None,
    )


async def drain(run: PipeRun) -> list[Any]:
    return [m async for frame in run.frames() for m in frame]


def test_the_setting_picks_the_transport() -> None:
    assert Settings().job_transport == ("pipes" if sys.platform == "win32" else "fork")
    assert isinstance(make_local_executor(Settings(job_transport="pipes")), PipesExecutor)
    assert isinstance(make_local_executor(Settings(job_transport="fork")), LocalExecutor)
    with pytest.raises(ConfigError, match="SWEATPANTS_JOB_TRANSPORT"):
        Settings.load({"SWEATPANTS_JOB_TRANSPORT": "carrier-pigeon"})


def test_jobs_run_over_stdin_and_stdout_and_printing_does_not_corrupt_it(tmp_path: Path) -> None:
    module_dir = write_module(tmp_path, "noisy", NOISY)

    async def scenario() -> list[tuple[list[Any], Exit]]:
        executor = PipesExecutor()
        await executor.start()
        try:

            async def one(job_id: str) -> tuple[list[Any], Exit]:
                run = await executor.launch(spec(module_dir, "noisy", job_id, n=3))
                messages = await drain(run)
                return messages, await asyncio.wait_for(run.wait(), 30)

            return await asyncio.gather(*(one(f"job-{k}") for k in range(3)))
        finally:
            await executor.close()

    for k, (messages, exit_info) in enumerate(asyncio.run(scenario())):
        assert exit_info == Exit(code=0)
        logs = [m[3] for m in messages if m[0] == protocol.LOG]
        assert {"printed line", "raw bytes on fd 1", "from a subprocess"} <= set(logs), logs
        assert f"hello from job-{k}" in logs
        results = [json.loads(m[2]) for m in messages if m[0] == protocol.RESULT]
        assert results == [{"i": 0}, {"i": 1}, {"i": 2}]
        assert messages[-1] == [protocol.DONE]


def test_cancel_reaches_the_module(tmp_path: Path) -> None:
    module_dir = write_module(tmp_path, "linger", LINGER)

    async def scenario() -> tuple[list[Any], Exit]:
        executor = PipesExecutor(warm=1)
        await executor.start()
        try:
            run = await executor.launch(spec(module_dir, "linger", "linger-1"))
            frames = run.frames()
            first = await anext(frames)
            run.cancel()
            rest = [m async for frame in frames for m in frame]
            return first + rest, await asyncio.wait_for(run.wait(), 30)
        finally:
            await executor.close()

    messages, exit_info = asyncio.run(scenario())
    assert exit_info == Exit(code=0)
    assert [messages[-2][0], messages[-2][3]] == [protocol.LOG, "cancelled cleanly"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_terminate_then_kill_ends_the_job_s_whole_process_tree(tmp_path: Path) -> None:
    module_dir = write_module(tmp_path, "stubborn", STUBBORN)
    pidfile = tmp_path / "grandchild.pid"

    async def scenario() -> tuple[Exit, int, int]:
        executor = PipesExecutor(warm=0)
        await executor.start()
        try:
            run = await executor.launch(spec(module_dir, "stubborn", "s-1", pidfile=str(pidfile)))
            assert run.pid is not None
            frames = run.frames()
            await anext(frames)
            grandchild = int(pidfile.read_text())
            run.cancel()
            run.terminate()  # ignored by the job and by what it started
            await asyncio.sleep(0.3)  # give SIGTERM its chance; the job must still be there
            assert alive(run.pid) and alive(grandchild)
            run.kill()
            [m async for frame in frames for m in frame]
            return await asyncio.wait_for(run.wait(), 30), run.pid, grandchild
        finally:
            await executor.close()

    exit_info, pid, grandchild = asyncio.run(scenario())
    assert exit_info.signal == "SIGKILL" and exit_info.code == -signal.SIGKILL
    wait_for(lambda: not alive(grandchild), 10, what="the module's own subprocess to end")
    assert not alive(pid)


def test_a_runner_ends_when_its_daemon_goes_away(tmp_path: Path) -> None:
    """Its stdin closing (the daemon died) ends a waiting runner and a running job at once."""
    module_dir = write_module(tmp_path, "linger", LINGER)
    command = [sys.executable, "-m", "sweatpants.jobs.runner", "--stdio"]
    waiting = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    running = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert running.stdin is not None and running.stdout is not None
        job = json.dumps(spec(module_dir, "linger", "orphan").to_dict()).encode()
        running.stdin.write(job + b"\n")
        running.stdin.flush()
        (length,) = protocol.HEADER.unpack(running.stdout.read(protocol.HEADER.size))
        first = protocol.decode_frame(running.stdout.read(length))
        assert first[0][0] == protocol.RESULT
        started = time.monotonic()
        for process in (waiting, running):
            assert process.stdin is not None
            process.stdin.close()
        assert waiting.wait(30) == 0
        assert running.wait(30) == 70  # runner.EXIT_DAEMON_GONE
        assert time.monotonic() - started < 30
    finally:
        for process in (waiting, running):
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_read_frames_stops_at_the_end_of_the_stream() -> None:
    async def scenario() -> list[list[list[Any]]]:
        reader = asyncio.StreamReader()
        reader.feed_data(protocol.encode_frame([["l", 1.0, "INFO", "x"]]))
        reader.feed_data(protocol.encode_frame([["d"]])[:3])  # cut short: the child died
        reader.feed_eof()
        return [frame async for frame in read_frames(reader)]

    assert asyncio.run(scenario()) == [[["l", 1.0, "INFO", "x"]]]


def test_idle_runners_end_with_the_executor() -> None:
    async def scenario() -> list[int]:
        executor = PipesExecutor(warm=2)
        await executor.start()
        for _ in range(1500):  # 30 s at most
            if len(executor._idle) == 2:
                break
            await asyncio.sleep(0.02)
        pids = [process.pid for process in executor._idle]
        await executor.close()
        return pids

    pids = asyncio.run(scenario())
    assert len(pids) == 2
    assert all(not alive(pid) for pid in pids)
    assert os.getpid() not in pids
