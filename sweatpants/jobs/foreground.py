"""`sweatpants module run`: one job of a module folder, in the foreground, with no daemon.

It is the daemon's parent side in miniature: the same runner (`runner.py`) is started as a
child process with the same two pipes and the same job spec, and the same frames come back
(`protocol.py`). Log lines go to stderr, results to stdout or a file as NDJSON, and each
checkpoint to a small state file, so that a run that is interrupted (Ctrl+C) or fails can be
resumed by the next one. With an output file, resuming also cuts the file back to where the
checkpoint was taken, so each result is in it exactly once (as the daemon keeps them).
Ctrl+C asks the module to stop (`is_cancelled`); a second one kills it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sweatpants.jobs import protocol
from sweatpants.jobs.children import runner_command
from sweatpants.sdk.runtime import Services

CHECKPOINT_FILE = ".sweatpants-checkpoint.json"
PROGRESS_EVERY = 1.0  # seconds between progress lines on stderr
KILL_WAIT = 5.0


@dataclass
class Outcome:
    """How the run ended: `completed`, `failed` or `stopped`, with counts and the error."""

    status: str
    results: int
    logs: int
    error: str | None = None
    traceback: str | None = None
    resumed: bool = False


@dataclass
class State:
    """What the checkpoint file keeps between runs."""

    module_id: str
    checkpoint: dict[str, Any]
    results: int = 0
    output: str | None = None
    output_bytes: int = 0

    @classmethod
    def read(cls, path: Path, module_id: str) -> State | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("module_id") != module_id:
            return None
        if not isinstance(data.get("checkpoint"), dict):
            return None
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in fields})

    def write(self, path: Path) -> None:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(dataclasses.asdict(self)), encoding="utf-8")
        os.replace(temporary, path)


@dataclass
class ForegroundJob:
    """One run of a module folder. `inputs`/`settings` are already checked and coerced."""

    module_id: str
    module_dir: Path
    entrypoint: str
    inputs: dict[str, Any]
    settings: dict[str, Any]
    checkpoint_file: Path
    output_file: Path | None = None
    fresh: bool = False

    def run(
        self, stdout: TextIO, log: Callable[[str], None], *, show_progress: bool = True
    ) -> Outcome:
        state = None if self.fresh else State.read(self.checkpoint_file, self.module_id)
        if self.fresh:
            with contextlib.suppress(FileNotFoundError):
                self.checkpoint_file.unlink()
        output_name = str(self.output_file.resolve()) if self.output_file else None
        if state is not None:
            log(f"resuming from the checkpoint in {self.checkpoint_file} ({state.results} results)")
        out, kept = self._open_output(state, output_name, stdout)
        try:
            return self._drive(state, out, kept, output_name, log, show_progress)
        finally:
            if out is not stdout:
                out.close()

    def _open_output(
        self, state: State | None, output_name: str | None, stdout: TextIO
    ) -> tuple[TextIO, int]:
        """Where results go, and how many of the previous run's it already holds."""
        if self.output_file is None:
            return stdout, 0
        if state is not None and state.output == output_name and self.output_file.exists():
            handle = self.output_file.open("r+", encoding="utf-8")
            handle.truncate(state.output_bytes)  # drop what came after the checkpoint
            handle.seek(state.output_bytes)
            return handle, state.results
        return self.output_file.open("w", encoding="utf-8"), 0

    def _spec(self, checkpoint: dict[str, Any] | None) -> protocol.JobSpec:
        services = dataclasses.replace(Services.from_environment(), daemon_url="", api_token="")
        return protocol.JobSpec(
            job_id=f"local-{uuid.uuid4()}",
            module_id=self.module_id,
            module_dir=str(self.module_dir.resolve()),
            entrypoint=self.entrypoint,
            deps_path=None,
            inputs=self.inputs,
            settings=self.settings,
            checkpoint=checkpoint,
            services=dataclasses.asdict(services),
        )

    def _drive(
        self,
        state: State | None,
        out: TextIO,
        results: int,
        output_name: str | None,
        log: Callable[[str], None],
        show_progress: bool,
    ) -> Outcome:
        spec = self._spec(state.checkpoint if state else None)
        messages_read, messages_write = os.pipe()
        control_read, control_write = os.pipe()
        child = subprocess.Popen(
            runner_command("--messages-fd", str(messages_write), "--control-fd", str(control_read)),
            pass_fds=(messages_write, control_read),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C is ours to pass on as a cancel
        )
        os.close(messages_write)
        os.close(control_read)
        control = os.fdopen(control_write, "wb", buffering=0)
        control.write(json.dumps(spec.to_dict()).encode() + b"\n")
        outcome = Outcome("failed", results, 0, resumed=state is not None)
        checkpoint = state.checkpoint if state else None
        cancelled = False
        last_progress = 0.0
        last_word: str | None = None
        buffer = b""

        def interrupted(signum: int, frame: object) -> None:
            nonlocal cancelled
            if cancelled:
                log("killing the job process")
                _kill(child)
                return
            cancelled = True
            log("stopping: the module is asked to stop (Ctrl+C again to kill it)")
            with contextlib.suppress(OSError):
                control.write(protocol.CANCEL)

        previous = _on_sigint(interrupted)
        try:
            while True:
                chunk = os.read(messages_read, 65536)
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= protocol.HEADER.size:
                    (length,) = protocol.HEADER.unpack_from(buffer)
                    end = protocol.HEADER.size + protocol.check_length(length)
                    if len(buffer) < end:
                        break
                    body, buffer = buffer[protocol.HEADER.size : end], buffer[end:]
                    for message in protocol.decode_frame(body):
                        kind = message[0]
                        if kind == protocol.LOG:
                            outcome.logs += 1
                            stamp = time.strftime("%H:%M:%S", time.localtime(message[1]))
                            log(f"{stamp} {message[2]:<7} {message[3]}")
                        elif kind == protocol.RESULT:
                            out.write(message[2] + "\n")
                            outcome.results += 1
                        elif kind == protocol.CHECKPOINT:
                            out.flush()
                            checkpoint = json.loads(message[1])
                            State(
                                self.module_id,
                                checkpoint or {},
                                outcome.results,
                                output_name,
                                out.tell() if output_name else 0,
                            ).write(self.checkpoint_file)
                        elif kind == protocol.PROGRESS and show_progress:
                            now = time.monotonic()
                            if now - last_progress >= PROGRESS_EVERY:
                                last_progress = now
                                total = f" of {message[2]:g}" if message[2] is not None else ""
                                done = message[1] if message[1] is not None else 0
                                log(f"progress: {done:g}{total}")
                        elif kind == protocol.DONE:
                            last_word = protocol.DONE
                        elif kind == protocol.ERROR:
                            last_word = protocol.ERROR
                            outcome.error, outcome.traceback = message[1], message[2]
                out.flush()
        finally:
            _on_sigint(previous)
            os.close(messages_read)
            control.close()
            code = _wait(child)
        if last_word == protocol.DONE:
            outcome.status = "stopped" if cancelled else "completed"
        elif last_word == protocol.ERROR:
            outcome.status = "failed"
        else:
            outcome.status = "stopped" if cancelled else "failed"
            outcome.error = outcome.error or (
                f"the job process ended without a word (exit code {code})"
            )
        if outcome.status == "completed":
            with contextlib.suppress(FileNotFoundError):
                self.checkpoint_file.unlink()
        return outcome


def _on_sigint(handler: Any) -> Any:
    """Install `handler` for SIGINT and return the previous one (None off the main thread,
    where signals cannot be handled: there Ctrl+C is not ours anyway)."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:
        return None


def _kill(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def _wait(child: subprocess.Popen[bytes]) -> int:
    """The child's exit code; it ends by itself once its last frame is out (or its control
    pipe closes), and is killed if it has not within KILL_WAIT seconds."""
    try:
        return child.wait(timeout=KILL_WAIT)
    except subprocess.TimeoutExpired:
        _kill(child)
        return child.wait(timeout=KILL_WAIT)
