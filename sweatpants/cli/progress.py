"""The live progress line of `run --follow` and `logs -f`: done/total, rate and ETA.

It stays on the terminal's last line while the logs scroll above it: before each log line
the progress line is wiped (`\\r` + erase line), the log line printed, the progress line
drawn again. Its numbers come from the job's `progress` events on `WS /events` (the daemon
sends one at most every 0.5 s while the job reports), read by a thread of its own; the
rate is taken over the last `RATE_WINDOW` seconds of them.

Shown only to a person: stdout a terminal, no `--json`, no `-q`, no `NO_COLOR` (see
`progress_wanted`). A job that never calls `self.progress(...)` shows no line at all.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from sweatpants.cli.target import Target
from sweatpants.web.sockets import direct

RATE_WINDOW = 10.0  # seconds of progress samples the rate is taken over
REDRAW_SECONDS = 1.0  # the line is redrawn this often even without news (the ETA counts down)
RECV_TIMEOUT = 0.25  # how long the event thread waits for a message before looking around
MAX_RECONNECTS = 5
OPEN_TIMEOUT = 10.0
BAR_WIDTH = 20

LogHandler = Callable[[dict[str, Any]], None]


def progress_wanted(
    stream: TextIO, *, as_json: bool, quiet: bool, environ: Mapping[str, str] | None = None
) -> bool:
    """A progress line only for a person at a terminal who asked for no quiet or JSON."""
    env = os.environ if environ is None else environ
    if as_json or quiet or "NO_COLOR" in env:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def duration_text(seconds: float) -> str:
    """`45s`, `3m05s`, `2h07m`: short, for an ETA."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def number_text(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


class Progress:
    """What the job last said about its progress, and the samples for its rate."""

    def __init__(self) -> None:
        self.done: float | None = None
        self.total: float | None = None
        self.samples: deque[tuple[float, float]] = deque()  # (monotonic time, done)

    def update(self, done: float, total: float | None, now: float) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # went back (a resume from a checkpoint): start the rate anew
        self.done, self.total = done, total
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()

    def rate(self) -> float | None:
        """Units per second over the window; None until two samples are apart in time."""
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        if t1 - t0 <= 0:
            return None
        return (d1 - d0) / (t1 - t0)

    def text(self, width: int) -> str:
        """`[#####.....] 1,234/10,000  12%  56.7/s  ETA 2m35s`, cut to `width`."""
        if self.done is None:
            return ""
        rate = self.rate()
        parts: list[str] = []
        total = self.total
        if total is not None and total > 0:
            share = max(0.0, min(1.0, self.done / total))
            filled = int(share * BAR_WIDTH)
            parts.append("[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
            parts.append(f"{number_text(self.done)}/{number_text(total)}")
            parts.append(f"{int(share * 100)}%")
        else:
            parts.append(f"{number_text(self.done)} done")
        if rate is not None:
            parts.append(f"{rate:,.1f}/s")
            if total is not None and rate > 0 and self.done < total:
                parts.append(f"ETA {duration_text((total - self.done) / rate)}")
        return "  ".join(parts)[: max(10, width - 1)]


class ProgressLine:
    """The line at the bottom of the terminal; every write to the stream goes through `lock`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.progress = Progress()
        self.lock = threading.Lock()
        self._shown = False
        self._closed = False

    def wrap(self, show: LogHandler) -> LogHandler:
        """`show` with the line wiped before each log line and drawn again after it."""

        def around(entry: dict[str, Any]) -> None:
            with self.lock:
                self._wipe()
                show(entry)
                self._draw()

        return around

    def update(self, done: float, total: float | None) -> None:
        with self.lock:
            self.progress.update(done, total, time.monotonic())
            self._wipe()
            self._draw()

    def redraw(self) -> None:
        with self.lock:
            if self._shown:
                self._wipe()
                self._draw()

    def close(self) -> None:
        """Wipe the line for good (the summary comes after it)."""
        with self.lock:
            self._wipe()
            self._closed = True

    def _wipe(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False

    def _draw(self) -> None:
        if self._closed:
            return
        text = self.progress.text(shutil.get_terminal_size((80, 24)).columns)
        if text:
            self.stream.write(text)
            self.stream.flush()
            self._shown = True


class ProgressWatcher:
    """A thread reading `WS /events` for one job's progress into a `ProgressLine`."""

    def __init__(self, target: Target, job_id: str, line: ProgressLine) -> None:
        self._target = target
        self._job_id = job_id
        self._line = line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-events", daemon=True)

    def start(self, initial: Any = None) -> None:
        """Start watching; `initial` is the job's `progress` as last read (or None)."""
        self._take(initial)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _take(self, progress: Any) -> None:
        if isinstance(progress, dict) and isinstance(progress.get("done"), int | float):
            total = progress.get("total")
            self._line.update(
                float(progress["done"]), float(total) if isinstance(total, int | float) else None
            )

    def _run(self) -> None:
        """Read events until stopped; reconnect a bounded number of times. A progress line
        is a nicety: any failure here only ends the line, never the command."""
        for _ in range(MAX_RECONNECTS):
            if self._stop.is_set():
                return
            try:
                self._one_connection()
            except Exception:  # the logs go on without a progress line
                if self._stop.wait(0.5):
                    return

    def _one_connection(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        target = self._target
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else None
        with connect(
            f"{target.ws_url}/events",
            additional_headers=headers,
            open_timeout=OPEN_TIMEOUT,
            max_size=None,
            **direct(connect),
        ) as socket:
            next_redraw = time.monotonic() + REDRAW_SECONDS
            while not self._stop.is_set():
                try:
                    raw = socket.recv(timeout=RECV_TIMEOUT)
                except TimeoutError:
                    raw = None
                except ConnectionClosed:
                    return
                if raw is not None:
                    self._message(raw)
                if time.monotonic() >= next_redraw:
                    self._line.redraw()
                    next_redraw = time.monotonic() + REDRAW_SECONDS

    def _message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "progress" and message.get("id") == self._job_id:
            self._take(message.get("progress"))
        elif kind == "job" and isinstance(message.get("job"), dict):
            job = message["job"]
            if job.get("id") == self._job_id:
                self._take(job.get("progress"))
