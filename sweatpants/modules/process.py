"""Run a helper program (git, pip) with a deadline, no stdin, and nothing left behind.

The program gets its own process group so that a timeout kills its children too (git's
ssh and remote helpers, pip's build backends), not only the program itself.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sweatpants.errors import Unavailable


@dataclass(frozen=True)
class Finished:
    """How a helper program ended."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 12) -> str:
        """The last lines of its output (stderr first), for an error message."""
        text = "\n".join(part for part in (self.stderr.strip(), self.stdout.strip()) if part)
        kept = [line for line in text.splitlines() if line.strip()][-lines:]
        return "\n".join(kept) or f"exit code {self.returncode}"


def run(
    args: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "command",
) -> Finished:
    """Run `args` to the end or until `timeout` seconds; `Unavailable` when it cannot start
    or takes too long (then its whole process group is killed)."""
    process = _start(args, cwd, env, stderr=subprocess.PIPE, what=what)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        process.communicate(timeout=10)
        raise Unavailable(f"{what} took longer than {timeout:g} s and was stopped") from None
    except BaseException:
        _kill(process)
        process.wait(timeout=10)
        raise
    return Finished(tuple(args), process.returncode, stdout, stderr)


def _start(
    args: Sequence[str],
    cwd: Path | None,
    env: Mapping[str, str] | None,
    *,
    stderr: int,
    what: str,
) -> subprocess.Popen[str]:
    """The program, with no stdin, its output as text, in a process group of its own (so a
    timeout kills its children too); `Unavailable` naming it when it cannot start."""
    try:
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=os.name == "posix",
        )
    except OSError as exc:
        raise Unavailable(f"{what} could not start: {args[0]}: {exc.strerror or exc}") from None


def _kill(process: subprocess.Popen[str]) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
            return
        except OSError:
            pass
    process.kill()


OutputLine = Callable[[str], None]
"""Called with each line a helper program prints (stdout and stderr merged), as it comes."""


def stream(
    args: Sequence[str],
    *,
    timeout: float,
    on_line: OutputLine | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "command",
    keep: int = 200,
) -> Finished:
    """Like `run`, but each line of output goes to `on_line` as soon as it is printed; the
    result's `stdout` holds the last `keep` lines (stderr merged into it)."""
    process = _start(args, cwd, env, stderr=subprocess.STDOUT, what=what)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _kill(process)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    tail: collections.deque[str] = collections.deque(maxlen=keep)
    try:
        assert process.stdout is not None
        for line in process.stdout:  # ends when the program (and its children) close it
            line = line.rstrip("\r\n")
            tail.append(line)
            if on_line is not None and line.strip():
                on_line(line)
        process.wait(timeout=10)
    except BaseException:
        _kill(process)
        process.wait(timeout=10)
        raise
    finally:
        timer.cancel()
        if process.stdout is not None:
            process.stdout.close()
    if expired.is_set():
        raise Unavailable(f"{what} took longer than {timeout:g} s and was stopped")
    return Finished(tuple(args), process.returncode, "\n".join(tail), "")
