"""Free space where the database lives: a watermark for new jobs and a reserve for endings.

A full disk must be an ordinary, visible state, never a job left `running` with nothing
behind it. Two things make it so:

- A watermark (`SWEATPANTS_MIN_FREE_MB`). Below it the engine takes no new jobs (HTTP 507),
  leaves queued ones waiting and says so in `/status`.
- A reserve: a file of `RESERVE_BYTES` beside the database, written at start. When a write
  fails because the disk is full, the writer deletes it. That frees room for what must
  still be written (the final states of the jobs that could not store their output and the
  log lines that explain why), and from then on the writer refuses every other write until
  space returns. Once there is room for the watermark plus the reserve again, the reserve
  is written back and everything carries on, without a restart.

The reserve is real allocated space (`posix_fallocate`, or written bytes where a file
system cannot preallocate), so deleting it frees exactly that much.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweatpants.sizes import human_bytes

log = logging.getLogger(__name__)

MB = 1024 * 1024
RESERVE_BYTES = 2 * MB
RESERVE_SUFFIX = ".reserve"
SQLITE_FULL = 13  # "database or disk is full"
SQLITE_IOERR_SHMSIZE = 10 | (19 << 8)  # the WAL index could not grow (no room for it)
_CHUNK = MB
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_FULL and for an OSError that says there is no space left."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF == SQLITE_FULL or code == SQLITE_IOERR_SHMSIZE
        return "database or disk is full" in str(exc)
    if isinstance(exc, OSError):
        if exc.errno is None:  # shutil.copytree gathers its failures as text in shutil.Error
            return os.strerror(errno.ENOSPC) in str(exc)
        return exc.errno in _FULL_ERRNOS
    return False


@dataclass(frozen=True)
class DiskState:
    """One look at the file system holding the database."""

    path: Path
    free_bytes: int
    total_bytes: int
    min_free_bytes: int
    full: bool  # a write failed for lack of space; the reserve is spent until space returns

    @property
    def low(self) -> bool:
        return self.full or self.free_bytes < self.min_free_bytes

    def describe(self) -> str:
        """What is wrong, where, and how to fix it ('' when nothing is)."""
        free = human_bytes(self.free_bytes)
        if self.full:
            return (
                f"the disk holding {self.path} is full ({free} free): Sweatpants could not "
                "store job output there; new jobs are refused and queued jobs wait until "
                f"there is room again (at least {human_bytes(self.min_free_bytes + RESERVE_BYTES)} "
                "free); free some space there, no restart needed"
            )
        if self.low:
            return (
                f"low disk space in {self.path}: {free} free, below the "
                f"{human_bytes(self.min_free_bytes)} minimum (SWEATPANTS_MIN_FREE_MB); new jobs "
                "are refused and queued jobs wait; free some space there (or lower "
                "SWEATPANTS_MIN_FREE_MB), no restart needed"
            )
        return ""

    def to_api(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "free_bytes": self.free_bytes,
            "total_bytes": self.total_bytes,
            "min_free_bytes": self.min_free_bytes,
            "low": self.low,
            "full": self.full,
            "message": self.describe() or None,
        }


class Space:
    """The free-space state of the database's directory, shared by the writer and the engine.

    The writer thread calls `spend_reserve` when a write fails for lack of space; the engine
    calls `recover` now and then to write the reserve back once there is room.
    """

    def __init__(self, database: Path, min_free_bytes: int, reserve_bytes: int = RESERVE_BYTES):
        self.directory = database.parent
        self.reserve_path = database.with_name(database.name + RESERVE_SUFFIX)
        self.min_free_bytes = max(0, min_free_bytes)
        self.reserve_bytes = reserve_bytes
        self._lock = threading.Lock()
        self._full = False

    @property
    def full(self) -> bool:
        with self._lock:
            return self._full

    def open(self) -> None:
        """Hold the reserve from the start; if there is no room even for that, start full."""
        if not self._write_reserve():
            with self._lock:
                self._full = True
            log.error("no room for the space reserve: %s", self.measure().describe())

    def measure(self) -> DiskState:
        """Free space now (one statvfs); an unreadable directory counts as no space."""
        try:
            usage = shutil.disk_usage(self.directory)
            free, total = usage.free, usage.total
        except OSError:
            free, total = 0, 0
        return DiskState(
            path=self.directory,
            free_bytes=free,
            total_bytes=total,
            min_free_bytes=self.min_free_bytes,
            full=self.full,
        )

    def spend_reserve(self) -> bool:
        """A write failed for lack of space: free the reserve for the writes that must land.

        Returns True the first time (the reserve was released), False when already spent.
        """
        with self._lock:
            if self._full:
                return False
            self._full = True
        try:
            self.reserve_path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("could not delete the space reserve %s: %s", self.reserve_path, exc)
        return True

    def recover(self) -> bool:
        """If the disk was full and there is room again, write the reserve back.

        Returns True when the state went from full to normal. Runs file I/O: call it from a
        worker thread.
        """
        if not self.full:
            return False
        if self.measure().free_bytes < self.min_free_bytes + self.reserve_bytes:
            return False
        if not self._write_reserve():
            return False
        with self._lock:
            self._full = False
        log.info("disk space is back in %s; the space reserve is held again", self.directory)
        return True

    def _write_reserve(self) -> bool:
        """Make the reserve file `reserve_bytes` long, in allocated blocks; False if no room."""
        path = self.reserve_path
        try:
            if path.stat().st_size == self.reserve_bytes:
                return True
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot look at the space reserve %s: %s", path, exc)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _allocate(fd, self.reserve_bytes)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.debug("could not remove a partial space reserve %s", path, exc_info=True)
            if not is_disk_full(exc):
                log.error("cannot write the space reserve %s: %s", path, exc)
            return False
        return True


def _allocate(fd: int, size: int) -> None:
    """Give the file `size` bytes of real blocks: preallocate, or write them out."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    # Bytes that do not compress, so a compressing file system stores them in full.
    chunk = os.urandom(_CHUNK)
    written = 0
    while written < size:
        written += os.write(fd, chunk[: min(_CHUNK, size - written)])
