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
from pathlib import Path
from typing import Any

import pytest

from sweatpants.cli.progress import RATE_WINDOW, Progress, progress_wanted
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

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
INPUTS: list[dict[str, Any]] = [
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
    daemon: RunningDaemon, *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> tuple[int, str]:
    """Run the CLI with a pty as its terminal (stdin, stdout, stderr); all it wrote."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args],
        env=cli_env(daemon, **(env or {})),
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


@pytest.mark.live
def test_run_follow_on_a_terminal_shows_the_progress_line(daemon: RunningDaemon) -> None:
    code, shown = run_in_pty(daemon, "run", "steps", "--follow")
    assert code == 0, shown
    assert WIPE in shown and LINE.search(shown), shown[-2000:]
    assert re.search(r"\d+(\.\d)?/s", shown) and "ETA " in shown, shown[-2000:]
    assert "step 29 of plain" in shown  # the logs still stream, each on its own line
    for log_line in re.findall(r"[^\r\n]*step \d+ of plain[^\r\n]*", shown):
        assert "[#" not in log_line and "[." not in log_line, log_line  # never mixed in
    assert "completed" in shown.rsplit(WIPE, 1)[-1]  # the summary comes after the last wipe


@pytest.mark.live
def test_logs_follow_on_a_terminal_shows_the_progress_line(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("steps", inputs={"pause": 0.15})
    code, shown = run_in_pty(daemon, "logs", "-f", job_id[:8])
    assert code == 0, shown
    assert WIPE in shown and LINE.search(shown), shown[-2000:]


@pytest.mark.live
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
    code, shown = run_in_pty(daemon, "run", "steps", "-i", "pause=0.02", "--follow", *args, env=env)
    assert code == 0, shown
    assert WIPE not in shown and not LINE.search(shown), shown[-1000:]


@pytest.mark.live
def test_no_progress_line_when_output_is_not_a_terminal(daemon: RunningDaemon) -> None:
    done = run_piped(daemon, "run", "steps", "-i", "pause=0.02", "--follow")
    assert done.returncode == 0, done.stderr
    assert "step 29 of plain" in done.stdout
    assert "\x1b" not in done.stdout and "ETA" not in done.stdout


@pytest.mark.live
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


def test_the_line_shows_done_total_rate_and_eta() -> None:
    progress = Progress()
    assert progress.text(80) == ""  # nothing reported: no line
    progress.update(100, 1000, now=0.0)
    assert progress.text(80) == "[##..................]  100/1,000  10%"
    progress.update(300, 1000, now=4.0)  # 50 a second: 700 left take 14 s
    assert progress.text(80) == "[######..............]  300/1,000  30%  50.0/s  ETA 14s"
    progress.update(5, None, now=5.0)  # went back (resumed): the rate starts again
    assert progress.text(80) == "5 done"
    progress.update(5 + 2 * RATE_WINDOW, None, now=5.0 + 2 * RATE_WINDOW)
    assert progress.text(80) == "25 done  1.0/s"
    assert len(progress.text(12)) <= 11  # cut to the terminal's width
    cli_doc = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    assert f"the rate over the last {RATE_WINDOW:g} s and an ETA" in cli_doc


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_is_wanted_only_by_a_person_at_a_terminal() -> None:
    tty, pipe = FakeTerminal(True), FakeTerminal(False)
    assert progress_wanted(tty, as_json=False, quiet=False, environ={})  # type: ignore[arg-type]
    assert not progress_wanted(pipe, as_json=False, quiet=False, environ={})  # type: ignore[arg-type]
    assert not progress_wanted(tty, as_json=True, quiet=False, environ={})  # type: ignore[arg-type]
    assert not progress_wanted(tty, as_json=False, quiet=True, environ={})  # type: ignore[arg-type]
    no_color = {"NO_COLOR": "1"}
    assert not progress_wanted(tty, as_json=False, quiet=False, environ=no_color)  # type: ignore[arg-type]
