"""The local executor on its own: both ways of making job processes run a real module."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sweatpants.jobs import forkserver, protocol
from sweatpants.jobs.executor import Exit
from sweatpants.jobs.local import LocalExecutor
from tests.support.modules import write_module

CODE = """
import asyncio
from sweatpants import Module

class Echo(Module):
    async def run(self, inputs, settings):
        await self.log("hello from " + self.job_id)
        for i in range(inputs["n"]):
            yield {"i": i}
        while inputs.get("linger") and not self.is_cancelled:
            await asyncio.sleep(0.02)
"""


def spec(module_dir: Path, job_id: str, **inputs: object) -> protocol.JobSpec:
    return protocol.JobSpec(
        job_id=job_id,
        module_id="echo",
        module_dir=str(module_dir),
        entrypoint="main.py",
        deps_path=None,
        inputs=dict(inputs),
        settings={},
        checkpoint=None,
    )


async def run_jobs(executor: LocalExecutor, module_dir: Path) -> list[tuple[list[Any], int | None]]:
    await executor.start()
    try:

        async def one(job_id: str) -> tuple[list[Any], int | None]:
            run = await executor.launch(spec(module_dir, job_id, n=3))
            messages = [m async for frame in run.frames() for m in frame]
            return messages, (await run.wait()).code

        return await asyncio.gather(*(one(f"job-{k}") for k in range(5)))
    finally:
        await executor.close()


@pytest.mark.parametrize("fork", [True, False], ids=["fork-server", "warm-pool"])
def test_both_process_sources_run_jobs(tmp_path: Path, fork: bool) -> None:
    module_dir = write_module(tmp_path, "echo", CODE)
    outcomes = asyncio.run(run_jobs(LocalExecutor(use_fork_server=fork), module_dir))
    for k, (messages, code) in enumerate(outcomes):
        assert code == 0
        kinds = [m[0] for m in messages]
        assert kinds.count(protocol.RESULT) == 3 and kinds[-1] == protocol.DONE
        assert [json.loads(m[2]) for m in messages if m[0] == protocol.RESULT] == [
            {"i": 0},
            {"i": 1},
            {"i": 2},
        ]
        assert [m[3] for m in messages if m[0] == protocol.LOG] == [f"hello from job-{k}"]


@pytest.mark.parametrize("fork", [True, False], ids=["fork-server", "warm-pool"])
def test_cancel_reaches_the_module(tmp_path: Path, fork: bool) -> None:
    module_dir = write_module(tmp_path, "echo", CODE)

    async def scenario() -> tuple[int | None, list[Any]]:
        executor = LocalExecutor(use_fork_server=fork)
        await executor.start()
        try:
            run = await executor.launch(spec(module_dir, "lingering", n=1, linger=True))
            frames = run.frames()
            first = await anext(frames)
            run.cancel()
            rest = [m async for frame in frames for m in frame]
            return (await asyncio.wait_for(run.wait(), 10)).code, first + rest
        finally:
            await executor.close()

    code, messages = asyncio.run(scenario())
    assert code == 0 and messages[-1] == [protocol.DONE]


def test_a_corrupt_frame_length_is_refused() -> None:
    assert protocol.check_length(1024) == 1024
    with pytest.raises(ValueError, match="corrupt"):
        protocol.check_length(protocol.MAX_FRAME + 1)


# ---- the fork server is not a single point of failure --------------------------------------

GATED = """
import asyncio
from pathlib import Path
from sweatpants import Module

class Gated(Module):
    async def run(self, inputs, settings):
        yield {"i": 0}
        await self.log("waiting for the gate")
        for _ in range(3000):  # 30 s at most
            if Path(inputs["gate"]).exists():
                break
            await asyncio.sleep(0.01)
        if inputs.get("fail"):
            raise RuntimeError("failing on purpose")
        for i in range(1, inputs["n"]):
            yield {"i": i}
"""


async def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


async def kill_fork_server(executor: LocalExecutor) -> int:
    """SIGKILL the executor's fork server; return its pid once the executor has seen it go."""
    server_pid = executor.fork_server_pid
    assert server_pid is not None
    os.kill(server_pid, signal.SIGKILL)
    await wait_until(lambda: executor.fork_server_pid is None, 10, "the fork server's end")
    return server_pid


class Outcome:
    def __init__(self, messages: list[Any], exit_info: Exit) -> None:
        self.messages = messages
        self.exit = exit_info
        self.results = [json.loads(m[2])["i"] for m in messages if m[0] == protocol.RESULT]
        self.kinds = [m[0] for m in messages]


async def gated_job_outliving_its_server(
    tmp_path: Path, act: str
) -> tuple[Outcome, int, LocalExecutor]:
    """Start a gated job, kill the fork server under it, then `act` on the job: `open` the
    gate, open it with `fail` set, or `kill` the job process; return how the job ended."""
    module_dir = write_module(tmp_path, "gated", GATED)
    gate = tmp_path / "gate"
    executor = LocalExecutor(use_fork_server=True)
    await executor.start()
    job = spec(module_dir, "gated-1", n=5, gate=str(gate), fail=act == "fail")
    run = await executor.launch(job)
    assert run.pid is not None
    frames = run.frames()
    messages = list(await anext(frames))
    while not any(m[0] == protocol.LOG for m in messages):
        messages += await anext(frames)
    server_pid = await kill_fork_server(executor)
    assert not process_gone(run.pid), "the job process must outlive its fork server"
    if act == "kill":
        os.kill(run.pid, signal.SIGKILL)
    else:
        gate.touch()
    messages += [m async for frame in frames for m in frame]
    exit_info = await asyncio.wait_for(run.wait(), 30)
    return Outcome(messages, exit_info), server_pid, executor


def test_a_job_finishes_after_its_fork_server_was_killed_and_the_next_gets_a_new_one(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[Outcome, Outcome, int, int | None]:
        outcome, old_server, executor = await gated_job_outliving_its_server(tmp_path, "open")
        try:
            module_dir = write_module(tmp_path, "echo", CODE)
            run = await executor.launch(spec(module_dir, "next", n=3))
            messages = [m async for frame in run.frames() for m in frame]
            following = Outcome(messages, await asyncio.wait_for(run.wait(), 30))
            return outcome, following, old_server, executor.fork_server_pid
        finally:
            await executor.close()

    outcome, following, old_server, new_server = asyncio.run(scenario())
    assert outcome.exit == Exit(code=0), outcome.exit
    assert outcome.results == [0, 1, 2, 3, 4] and outcome.kinds[-1] == protocol.DONE
    assert following.exit == Exit(code=0) and following.results == [0, 1, 2]
    assert new_server is not None and new_server != old_server
    assert process_gone(old_server)


def test_a_job_that_fails_after_its_fork_server_was_killed_fails_with_its_error(
    tmp_path: Path,
) -> None:
    async def scenario() -> Outcome:
        outcome, _, executor = await gated_job_outliving_its_server(tmp_path, "fail")
        await executor.close()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.exit == Exit(code=protocol.EXIT_ERROR), outcome.exit
    assert outcome.kinds[-1] == protocol.ERROR
    assert "failing on purpose" in outcome.messages[-1][1]


def test_a_job_process_lost_with_its_fork_server_is_resumed(tmp_path: Path) -> None:
    async def scenario() -> Outcome:
        outcome, _, executor = await gated_job_outliving_its_server(tmp_path, "kill")
        await executor.close()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.exit.resume and outcome.exit.code is None and outcome.exit.signal is None
    assert "fork server" in outcome.exit.describe()
    assert outcome.results == [0] and protocol.DONE not in outcome.kinds


def test_a_job_stopped_after_its_fork_server_was_killed_is_not_resumed(tmp_path: Path) -> None:
    async def scenario() -> Exit:
        module_dir = write_module(tmp_path, "echo", CODE)
        executor = LocalExecutor(use_fork_server=True)
        await executor.start()
        try:
            run = await executor.launch(spec(module_dir, "lingering", n=1, linger=True))
            frames = run.frames()
            await anext(frames)
            await kill_fork_server(executor)
            run.kill()
            [m async for frame in frames for m in frame]
            return await asyncio.wait_for(run.wait(), 30)
        finally:
            await executor.close()

    exit_info = asyncio.run(scenario())
    assert not exit_info.resume and exit_info.code is None
    assert "sent SIGKILL" in exit_info.describe()


def test_exit_names_the_signal_only() -> None:
    assert Exit.from_code(-9) == Exit(code=-9, signal="SIGKILL")
    assert Exit.from_code(-9).describe() == "the job process was killed by SIGKILL"
    assert Exit.from_code(3) == Exit(code=3) and Exit.from_code(None).signal is None
    assert Exit.from_code(-200).signal == "signal 200"


SERVER_WITH_FAILING_CHILDREN = """
import sys
from sweatpants.jobs import forkserver

def become_job(messages_fd, control_fd):
    what = sys.argv[3]
    if what == "return":
        return
    raise {"exit": SystemExit(0), "interrupt": KeyboardInterrupt(), "error": RuntimeError("x")}[what]

forkserver.serve(int(sys.argv[1]), int(sys.argv[2]), become_job)
print("server loop ended", flush=True)
"""


@pytest.mark.parametrize("what", ["exit", "interrupt", "error", "return"])
def test_a_forked_child_never_returns_into_the_server_loop(tmp_path: Path, what: str) -> None:
    """Whatever the child's code does, the child ends with its own exit code; only the server
    runs the loop (which ends, once, when its request socket closes)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    events_r, events_w = os.pipe()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER_WITH_FAILING_CHILDREN,
            str(theirs.fileno()),
            str(events_w),
            what,
        ],
        pass_fds=(theirs.fileno(), events_w),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    theirs.close()
    os.close(events_w)
    events = os.fdopen(events_r, "rb")
    try:
        for _ in range(2):
            pipe_r, pipe_w = os.pipe()
            socket.send_fds(ours, [b"F"], [pipe_w, pipe_r])
            os.close(pipe_r)
            os.close(pipe_w)
            started = json.loads(events.readline())
            exited = json.loads(events.readline())
            assert exited == {"exited": started["started"], "code": forkserver.EXIT_CHILD_FAILED}
    finally:
        ours.close()
        out, err = server.communicate(timeout=30)
        events.close()
    assert server.returncode == 0, err
    assert out.count("server loop ended") == 1, out
