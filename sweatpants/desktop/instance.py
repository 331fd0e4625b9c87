"""One desktop app per data directory: an OS file lock plus a tiny loopback doorbell.

The first app takes an exclusive lock on `DATA_DIR/desktop/app.lock` (released by the OS
when the process dies, so a crash never leaves a stale lock) and listens on a loopback TCP
port for one-line commands. It writes the port and a random secret to `app.json` (mode
0600). A second launch fails to take the lock, reads `app.json`, sends `<secret> show`,
and exits: the first app shows its window. Only a process that can read the user's data
directory knows the secret, so other local users and web pages cannot ring the bell.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sweatpants.errors import Unavailable

log = logging.getLogger(__name__)

COMMANDS = frozenset({"show"})
MAX_LINE = 256


class AlreadyRunning(Unavailable):
    """Another desktop app holds the lock for this data directory."""


def desktop_dir(data_dir: Path) -> Path:
    return data_dir / "desktop"


class InstanceLock:
    """An exclusive, non-blocking lock on a file, held until `release()` or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            _unlock_file(self._file)
        self._file.close()
        self._file = None


def _lock_file(handle: IO[bytes]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock_file(handle: IO[bytes]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class Doorbell:
    """The first app's listener: runs `on_command(name)` for each valid line it receives."""

    def __init__(self, info_path: Path, on_command: Callable[[str], None]) -> None:
        self.info_path = info_path
        self._on_command = on_command
        self._secret = secrets.token_urlsafe(24)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.5)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sweatpants-doorbell", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self) -> None:
        _write_private(
            self.info_path,
            json.dumps({"port": self.port, "secret": self._secret, "pid": os.getpid()}),
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._sock.close()
        with contextlib.suppress(OSError):
            self.info_path.unlink()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            line = conn.recv(MAX_LINE).decode("utf-8", "replace").strip()
        except OSError:
            return
        secret, _, command = line.partition(" ")
        if not secrets.compare_digest(secret, self._secret) or command not in COMMANDS:
            log.warning("desktop: ignored a doorbell message without the right secret")
            with contextlib.suppress(OSError):
                conn.sendall(b"no\n")
            return
        with contextlib.suppress(OSError):
            conn.sendall(b"ok\n")
        try:
            self._on_command(command)
        except Exception:
            log.exception("desktop: doorbell command %s failed", command)


def ring(info_path: Path, command: str = "show", timeout: float = 3.0) -> None:
    """Ask the running app to do `command`; raises AlreadyRunning when it cannot be reached."""
    port, secret = _read_info(info_path, timeout)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(f"{secret} {command}\n".encode())
            answer = conn.recv(16)
    except OSError as exc:
        raise AlreadyRunning(
            f"Sweatpants is already running for this data folder but does not answer "
            f"({exc}). Quit it from its tray menu and start again."
        ) from exc
    if not answer.startswith(b"ok"):
        raise AlreadyRunning("the running Sweatpants app refused the request to show its window")


def _read_info(info_path: Path, timeout: float) -> tuple[int, str]:
    """Port and secret of the running app; it writes them just after taking the lock."""
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    for _ in range(int(timeout / 0.1) + 1):
        try:
            info = json.loads(info_path.read_text())
            return int(info["port"]), str(info["secret"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            error = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    raise AlreadyRunning(
        f"Sweatpants is already running for this data folder, but it did not say how to "
        f"reach it ({info_path}: {error}). Quit it from its tray menu and start again."
    )


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
