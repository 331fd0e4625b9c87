"""The CLI finds jobs (`jobs --search TEXT --since 2d`) and shows a live progress line under
the streaming logs of `run --follow` and `logs -f` on a terminal (a real pty), and no such
line for --json, -q, NO_COLOR or output that is not a terminal. A real daemon, the CLI as a
real subprocess."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

CLI = [sys.executable, "-m", "sweatpants"]
WIPE = "\r\x1b[2K"  # what the progress line writes before each redraw
LINE = re.compile(r"\[[#.]{20}\]  \d+/30  \d+%")

STEPS = """
import asyncio
from sweatpants import Module

class Steps(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["n"]):
            await self.progress(i + 1, inputs["n"])
            await self.log(f"step {i} of {inputs['tag']}")
            yield {"i": i}
            await asyncio.sleep(inputs["pause"])
"""
INPUTS = [
    {"id": "n", "type": "integer", "default": 30},
    {"id": "pause", "type": "number", "default": 0.1},
    {"id": "tag", "type": "text", "default": "plain"},
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = RunningDaemon(tmp_path_factory.mktemp("cli-progress") / "data", token="t0k3n")
    write_module(running.modules_dir, "steps", STEPS, inputs=INPUTS)
    running.start()
    yield running
    running.stop()


def cli_env(daemon: RunningDaemon, **extra: str) -> dict[str, str]:
    env = dict(daemon.env)
    env.pop("NO_COLOR", None)
    env.update({"COLUMNS": "100", "LINES": "30", **extra})
    return env


def run_piped(daemon: RunningDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=cli_env(daemon), capture_output=True, text=True, timeout=90
    )


def run_in_pty(
    daemon: RunningDaemon, *args: str, timeout: float = 90, **env: str
) -> tuple[int, str]:
    """Run the CLI with a pty as its terminal (stdin, stdout, stderr); all it wrote."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args],
        env=cli_env(daemon, **env),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
            pytest.fail(f"{args} still running after {timeout} s: {b''.join(chunks)[-500:]!r}")
        code = process.wait(timeout=30)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_run_follow_on_a_terminal_shows_the_progress_line(daemon: RunningDaemon) -> None:
    code, shown = run_in_pty(daemon, "run", "steps", "--follow")
    assert code == 0, shown
    assert WIPE in shown and LINE.search(shown), shown[-2000:]
    assert re.search(r"\d+(\.\d)?/s", shown) and "ETA " in shown, shown[-2000:]
    assert "step 29 of plain" in shown  # the logs still stream, each on its own line
    for log_line in re.findall(r"[^\r\n]*step \d+ of plain[^\r\n]*", shown):
        assert "[#" not in log_line and "[." not in log_line, log_line  # never mixed in
    assert "completed" in shown.rsplit(WIPE, 1)[-1]  # the summary comes after the last wipe


def test_logs_follow_on_a_terminal_shows_the_progress_line(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("steps", inputs={"pause": 0.15})
    code, shown = run_in_pty(daemon, "logs", "-f", job_id[:8])
    assert code == 0, shown
    assert WIPE in shown and LINE.search(shown), shown[-2000:]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--json",), {}),
        (("-q",), {}),
        ((), {"NO_COLOR": "1"}),
    ],
)
def test_no_progress_line_for_json_quiet_or_no_color(
    daemon: RunningDaemon, args: tuple[str, ...], env: dict[str, str]
) -> None:
    code, shown = run_in_pty(daemon, "run", "steps", "-i", "pause=0.02", "--follow", *args, **env)
    assert code == 0, shown
    assert WIPE not in shown and not LINE.search(shown), shown[-1000:]


def test_no_progress_line_when_output_is_not_a_terminal(daemon: RunningDaemon) -> None:
    done = run_piped(daemon, "run", "steps", "-i", "pause=0.02", "--follow")
    assert done.returncode == 0, done.stderr
    assert "step 29 of plain" in done.stdout
    assert "\x1b" not in done.stdout and "ETA" not in done.stdout


def test_jobs_search_and_since(daemon: RunningDaemon) -> None:
    wanted = daemon.start_job("steps", inputs={"n": 1, "pause": 0, "tag": "Needle-42"})
    other = daemon.start_job("steps", inputs={"n": 1, "pause": 0, "tag": "hay"})
    for job_id in (wanted, other):
        daemon.wait_job(job_id, timeout=60)
    done = run_piped(daemon, "jobs", "--search", "needle-42", "--since", "2d")
    assert done.returncode == 0, done.stderr
    assert wanted[:8] in done.stdout and other[:8] not in done.stdout
    assert run_piped(daemon, "jobs", "--search", "needle-42", "--until", "1d").stdout.startswith(
        "No jobs match."
    )
    bad = run_piped(daemon, "jobs", "--since", "yesterday")
    assert bad.returncode != 0 and bad.stderr.startswith("error: "), bad.stderr
    assert "since" in bad.stderr and "not a date" in bad.stderr
