"""The child side of a job: load the module, run it, stream what it does to the daemon.

Runs inside the job's own process. It never touches the database: logs, results, checkpoints
and progress go to the daemon as protocol frames over `out_fd`; the daemon's commands
(`cancel`) arrive on `ctrl_fd`. If the daemon goes away (the control pipe closes), the job
process ends at once, so a restarted daemon can resume the job without a twin running.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import importlib.util
import inspect
import io
import json
import logging
import math
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, NoReturn

from sweatpants.jobs import envdir, forkserver, protocol, shadowing, stdio
from sweatpants.sdk import encode, runtime
from sweatpants.sdk.module import Module

FLUSH_SECONDS = 0.02
FLUSH_MESSAGES = 1000
FLUSH_BYTES = 512 * 1024
JOB_NICENESS = 10
IMMEDIATE_PER_WINDOW = 2  # messages per FLUSH_SECONDS window sent without batching
EXIT_DAEMON_GONE = 70
FD_DRAIN_SECONDS = 0.5  # at the end, how long output written straight to fd 1/2 is awaited


class Channel:
    """Buffers outgoing messages and writes them as frames; safe to call from any thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._pending: list[list[Any]] = []
        self._bytes = 0
        self._window_start = 0.0
        self._window_count = 0

    def send(self, message: list[Any], *, size: int = 64, flush: bool = False) -> None:
        with self._lock:
            if (
                message[0] == protocol.PROGRESS
                and self._pending
                and self._pending[-1][0] == protocol.PROGRESS
            ):
                self._pending[-1] = message  # only the latest progress matters
            else:
                self._pending.append(message)
                self._bytes += size
            # A quiet job sends each message at once (so a crash loses nothing and the first
            # log shows immediately); a busy one sends batches, at most FLUSH_SECONDS apart.
            now = time.monotonic()
            if now - self._window_start >= FLUSH_SECONDS:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if (
                flush
                or self._window_count <= IMMEDIATE_PER_WINDOW
                or len(self._pending) >= FLUSH_MESSAGES
                or self._bytes >= FLUSH_BYTES
            ):
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._pending:
            return
        pending, self._pending, self._bytes = self._pending, [], 0
        try:
            data = protocol.encode_frame(pending)
        except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
            data = protocol.encode_frame(_salvage(pending))
        frame = memoryview(data)
        try:
            while frame:
                written = os.write(self._fd, frame)
                frame = frame[written:]
        except BrokenPipeError:
            os._exit(EXIT_DAEMON_GONE)


def _salvage(messages: list[list[Any]]) -> list[list[Any]]:
    """The batch with each message that cannot be framed replaced by an error log line.

    The senders check what they send, so this is the last guard: one bad message must never
    cost the messages batched with it (nor the job's error, sent after it).
    """
    kept: list[list[Any]] = []
    for message in messages:
        try:
            protocol.encode_frame([message])
        except (TypeError, ValueError) as exc:
            note = f"Sweatpants could not send a {message[0]!r} message of this job: {exc}"
            message = [protocol.LOG, time.time(), "ERROR", clean_text(note)]
        kept.append(message)
    return kept


def clean_text(text: str) -> str:
    """`text` that encodes as UTF-8: lone surrogates (from undecodable bytes) become `\\udcXX`."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _number(value: Any, name: str) -> float | None:
    """A progress figure for the frame: an int, a float (Decimal and numpy numbers too), or
    None; NaN and infinities become None, as they do in results."""
    if value is None or type(value) is int:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"progress: {name} must be a number, got {value!r} (type {type(value).__qualname__})"
        ) from None
    return number if math.isfinite(number) else None


class RunnerContext:
    """The `JobContext` a module sees: the SDK methods end up here."""

    def __init__(self, job_id: str, channel: Channel) -> None:
        self._job_id = job_id
        self._channel = channel
        self._results = 0
        self.cancelled = threading.Event()

    @property
    def job_id(self) -> str:
        return self._job_id

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled.is_set()

    def log_now(self, message: str, level: str = "INFO") -> None:
        message = clean_text(message)
        self._channel.send([protocol.LOG, time.time(), level, message], size=len(message) + 40)

    async def log(self, message: str, level: str) -> None:
        self.log_now(message, level)

    async def save_checkpoint(self, data: dict[str, Any]) -> None:
        text = encode.to_json(data, "the checkpoint")
        self._channel.send([protocol.CHECKPOINT, text], size=len(text), flush=True)

    async def progress(self, done: float, total: float | None) -> None:
        self._channel.send([protocol.PROGRESS, _number(done, "done"), _number(total, "total")])

    def result(self, data: Any) -> None:
        self._results += 1
        text = encode.result_json(data, self._results)  # raises, naming the field, if not JSON
        self._channel.send([protocol.RESULT, time.time(), text], size=len(text) + 24)


class _LogStream(io.TextIOBase):
    """Stands in for stdout/stderr in a job: each printed line becomes a log line."""

    def __init__(self, context: RunnerContext, level: str) -> None:
        self._context = context
        self._level = level
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._context.log_now(line, self._level)
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self._context.log_now(self._partial, self._level)
        self._partial = ""


class _LogHandler(logging.Handler):
    """Routes the module's `logging` calls into the job's log."""

    def __init__(self, context: RunnerContext) -> None:
        super().__init__()
        self._context = context

    def emit(self, record: logging.LogRecord) -> None:
        self._context.log_now(self.format(record), record.levelname)


def _capture_fd(fd: int, context: RunnerContext, level: str) -> threading.Thread:
    """Make what is written straight to file descriptor `fd` (by a subprocess, a C library,
    `os.write`) log lines of the job, like `print`: so it reaches the daemon as the job's
    output (where the job's secrets are redacted), never the daemon's own log."""
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)
    stream = _LogStream(context, level)

    def pump() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            for chunk in iter(lambda: pipe.read(65536), b""):  # until every writer closed it
                stream.write(decoder.decode(chunk))
        stream.write(decoder.decode(b"", final=True))
        stream.flush()

    thread = threading.Thread(target=pump, name=f"fd{fd}-to-log", daemon=True)
    thread.start()
    return thread


def _end_captures(captures: list[threading.Thread]) -> None:
    """Point fds 1 and 2 at /dev/null and wait (briefly: a subprocess may still hold the
    pipes) for the last of what was written to them to reach the log."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
    deadline = time.monotonic() + FD_DRAIN_SECONDS
    for thread in captures:
        thread.join(max(0.0, deadline - time.monotonic()))


def _watch_control(stream: BinaryIO, context: RunnerContext) -> None:
    for line in stream:
        if line == protocol.CANCEL:
            context.cancelled.set()
    os._exit(EXIT_DAEMON_GONE)  # the daemon is gone: do not run on unsupervised


def load_module_class(spec: protocol.JobSpec) -> type[Module]:
    """Import the module's entrypoint by path and find its `Module` subclass."""
    module_dir = Path(spec.module_dir)
    path = module_dir / spec.entrypoint
    if not path.is_file():
        raise FileNotFoundError(f"module {spec.module_id!r}: entrypoint {path} does not exist")
    if spec.deps_path and not envdir.is_environment(spec.deps_path):
        sys.path.insert(0, spec.deps_path)  # a requirements folder (the standalone app)
    sys.path.insert(0, str(module_dir))
    name = "sweatpants_module_" + "".join(c if c.isalnum() else "_" for c in spec.module_id)
    import_spec = importlib.util.spec_from_file_location(name, path)
    if import_spec is None or import_spec.loader is None:
        raise ImportError(f"module {spec.module_id!r}: cannot import {path}")
    loaded: ModuleType = importlib.util.module_from_spec(import_spec)
    sys.modules[name] = loaded
    import_spec.loader.exec_module(loaded)
    found = [
        value
        for value in vars(loaded).values()
        if isinstance(value, type) and issubclass(value, Module) and value is not Module
    ]
    own = [cls for cls in found if cls.__module__ == name] or found
    if not own:
        raise TypeError(
            f"module {spec.module_id!r}: {path.name} defines no subclass of sweatpants.Module"
        )
    return own[-1]


def _instantiate(cls: type[Module], context: RunnerContext) -> Module:
    try:
        instance = cls(context)
    except TypeError:
        instance = cls()  # a module whose __init__ takes no context
        instance._context = context
    return instance


async def _run_module(spec: protocol.JobSpec, context: RunnerContext, channel: Channel) -> None:
    async def flush_regularly() -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            channel.flush()

    flusher = asyncio.create_task(flush_regularly())
    try:
        if spec.deps_path and not envdir.is_environment(spec.deps_path):
            # A requirements folder, not an environment: say what this process cannot honour.
            for warning in shadowing.shadowed(spec.deps_path):
                context.log_now(warning, "WARNING")
        instance = _instantiate(load_module_class(spec), context)
        instance.restore_checkpoint(spec.checkpoint)
        produced = instance.run(spec.inputs, spec.settings)
        if inspect.isasyncgen(produced):
            async for item in produced:
                context.result(item)
        elif inspect.isawaitable(produced):
            outcome = await produced
            for item in outcome if isinstance(outcome, list) else [outcome] if outcome else []:
                context.result(item)
        else:
            raise TypeError("run() must be an async generator (use `yield` in `async def run`)")
    finally:
        flusher.cancel()


def child_main(spec_data: dict[str, Any], out_fd: int, control: BinaryIO) -> NoReturn:
    """Run one job in this process. Never returns: exits EXIT_DONE after its last frame says
    done, EXIT_ERROR after it says error (see `protocol`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the daemon's terminal is the daemon's
    with contextlib.suppress(OSError, AttributeError):
        os.nice(JOB_NICENESS)  # jobs are background work: the API and dashboard stay snappy
    spec = protocol.JobSpec(**spec_data)
    if envdir.is_environment(spec.deps_path):
        envdir.hold(str(spec.deps_path))  # its environment stays while this job runs
    channel = Channel(out_fd)
    context = RunnerContext(spec.job_id, channel)
    threading.Thread(target=_watch_control, args=(control, context), daemon=True).start()
    runtime.activate(
        runtime.JobRuntime(spec.job_id, spec.module_id, runtime.Services(**spec.services))
    )
    sys.stdout = _LogStream(context, "INFO")
    sys.stderr = _LogStream(context, "WARNING")
    captures = [_capture_fd(1, context, "INFO"), _capture_fd(2, context, "WARNING")]
    handler = _LogHandler(context)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    code = protocol.EXIT_DONE
    try:
        asyncio.run(_run_module(spec, context, channel))
        _end_captures(captures)
        channel.send([protocol.DONE], flush=True)
    except BaseException as exc:
        _end_captures(captures)
        code = protocol.EXIT_ERROR
        if isinstance(exc, encode.NotJSONError) or not str(exc):
            error = str(exc) or type(exc).__name__  # ours says what is wrong without the name
        else:
            error = f"{type(exc).__name__}: {exc}"
        trace = clean_text(traceback.format_exc())
        channel.send([protocol.ERROR, clean_text(error), trace], flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        channel.flush()
    os._exit(code)


def run_from_control(messages_fd: int, control_fd: int) -> NoReturn:
    """A job process in waiting: the first line on the control pipe is the job spec (JSON);
    it ends without running anything if the pipe closes first (the daemon no longer needs it)."""
    control = os.fdopen(control_fd, "rb")
    line = control.readline()
    if not line.strip():
        os._exit(0)
    child_main(json.loads(line), messages_fd, control)


def main(argv: list[str] | None = None) -> None:
    """A job process in waiting, or the fork server that makes them.

    `--messages-fd N --control-fd M`: a warm runner (`run_from_control`).
    `--request-fd N --events-fd M`: the fork server (see `sweatpants.jobs.forkserver`), whose
    children each become a job with `run_from_control`.
    `--stdio`: a warm runner whose stdin and stdout are its pipes (the pipes transport, no fd
    passing; see `sweatpants.jobs.pipes`).
    """
    parser = argparse.ArgumentParser(prog="sweatpants-job-runner")
    parser.add_argument("--messages-fd", type=int)
    parser.add_argument("--control-fd", type=int)
    parser.add_argument("--request-fd", type=int)
    parser.add_argument("--events-fd", type=int)
    parser.add_argument("--stdio", action="store_true")
    args = parser.parse_args(argv)
    if args.stdio:
        pipes = stdio.take_stdio()
        for name in forkserver.PRELOAD:  # warm like the fork server's children
            with contextlib.suppress(ImportError):
                __import__(name)
        run_from_control(*pipes)
    if args.request_fd is not None and args.events_fd is not None:
        forkserver.serve(args.request_fd, args.events_fd, run_from_control)
        return
    if args.messages_fd is None or args.control_fd is None:
        parser.error("give --messages-fd and --control-fd, or --request-fd and --events-fd")
    run_from_control(args.messages_fd, args.control_fd)


if __name__ == "__main__":
    main()
