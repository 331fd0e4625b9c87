"""The local executor on its own: both ways of making job processes run a real module."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sweatpants.jobs import protocol
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
