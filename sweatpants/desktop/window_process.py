"""The tray's side of the dashboard window: a process started on open, gone once closed.

`open()` starts `python -m sweatpants.desktop.window` (the frozen app runs itself with the
same `-m`) and writes the window's settings, the URL with its token among them, as the first
line on the process's stdin: never on its command line, which other users can read. While
the process runs, `open()` asks it to come to the front instead. Closing the window ends the
process and frees the web engine's memory; `close()` (Quit) closes its stdin, which closes
the window, and terminates it if it lingers. What the window reports (`shown`, `loaded`) is
handed to `on_event` from a reader thread, then `closed` when the process has ended. A window
already closed (`gone`) whose process is still ending is not asked to show: a new one starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

WINDOW_MODULE = "sweatpants.desktop.window"
CLOSED = "closed"
GONE = "gone"  # what the window process says once its window is closed
CLOSE_SECONDS = 5.0


def window_command(gui: str | None) -> list[str]:
    """This interpreter (or the frozen app, whose entry point honours `-m`) on the window;
    the web engine's name is no secret, so it goes on the command line."""
    return [sys.executable, "-m", WINDOW_MODULE, *(["--engine", gui] if gui else [])]


def spawn_window(gui: str | None) -> subprocess.Popen[bytes]:
    """A window process that loads its web engine and then waits for its settings: started
    before the engine is ready, it does that work while the daemon starts."""
    process = subprocess.Popen(
        window_command(gui), stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
    )
    log.info("desktop: dashboard window process started (pid %d)", process.pid)
    return process


def discard_window(process: subprocess.Popen[bytes], timeout: float = CLOSE_SECONDS) -> None:
    """End a window process: its stdin closing closes it; terminated, then killed, if not."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("desktop: the window process did not close; terminating it")
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


class DashboardWindow:
    """At most one window process at a time; every method may be called from any thread."""

    def __init__(
        self,
        url: str,
        storage_path: Path,
        gui: str | None,
        on_event: Callable[[str], None],
        prestarted: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self._gui = gui
        self._config = {"url": url, "storage_path": str(storage_path), "gui": gui}
        self._prestarted = prestarted  # spawned early (launch), not yet told what to show
        self._on_event = on_event
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._gone: set[int] = set()  # window processes whose window is already closed
        self._closing = False

    @property
    def pid(self) -> int | None:
        """The window process's pid while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def open(self) -> None:
        """Show the dashboard: bring the running window to the front, or start one."""
        with self._lock:
            if self._closing:
                return
            process = self._process
            if (
                process is not None
                and process.poll() is None
                and process.pid not in self._gone
                and self._send(process, b"show")
            ):
                log.info("desktop: dashboard window raised")
                return
            early, self._prestarted = self._prestarted, None
            if early is not None and early.poll() is None:
                self._process = self._configure(early)
            else:
                self._process = self._configure(spawn_window(self._gui))

    def _configure(self, process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Tell a waiting window process what to show, and listen to what it reports."""
        self._send(process, json.dumps(self._config).encode())
        threading.Thread(
            target=self._read_events, args=(process,), name="sweatpants-window", daemon=True
        ).start()
        return process

    @staticmethod
    def _send(process: subprocess.Popen[bytes], line: bytes) -> bool:
        stdin: IO[bytes] | None = process.stdin
        if stdin is None:
            return False
        try:
            stdin.write(line + b"\n")
            stdin.flush()
        except (OSError, ValueError):  # it is ending (ValueError: closed by close())
            return False
        return True

    def _read_events(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                word = line.decode("utf-8", "replace").strip()
                if word == GONE:
                    with self._lock:
                        self._gone.add(process.pid)
                self._event(word)
        code = process.wait()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        log.info("desktop: dashboard window process ended (code %s)", code)
        with self._lock:
            self._gone.discard(process.pid)
        self._event(CLOSED)

    def _event(self, word: str) -> None:
        if not word:
            return
        try:
            self._on_event(word)
        except Exception:
            log.exception("desktop: handling the window's %r failed", word)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Close the window for good (Quit): no window opens after this."""
        with self._lock:
            self._closing = True
            processes = [self._process, self._prestarted]
            self._process = self._prestarted = None
        configured, early = processes
        if configured is not None:
            discard_window(configured, timeout)  # its reader thread closes its stdout
        if early is not None:
            discard_window(early, timeout)
            if early.stdout is not None:
                early.stdout.close()
