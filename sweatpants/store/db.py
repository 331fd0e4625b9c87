"""SQLite access: one `connect()`, one writer thread, reads on their own connections.

Every write goes through `Writer`: a dedicated thread that takes whatever operations are
queued, runs them in a single `BEGIN IMMEDIATE` transaction (each in its own savepoint, so
one failing operation does not undo its neighbours), commits once and then reports back.
That is how logs and results from many jobs reach the disk in group commits without a
commit per row. Reads run in worker threads, each with its own connection (WAL lets them
proceed while the writer commits).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sweatpants.store.schema import migrate

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]
CommitHook = Callable[[set[str]], None]

log = logging.getLogger(__name__)

MAX_OPS_PER_TRANSACTION = 2000


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the settings every part of Sweatpants relies on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


class _Write:
    __slots__ = ("future", "jobs", "op")

    def __init__(self, op: WriteOp, jobs: frozenset[str], future: Future[Any] | None) -> None:
        self.op = op
        self.jobs = jobs
        self.future = future


_STOP = object()


class Writer:
    """The single writer thread. `submit` queues an operation; `call` awaits its result."""

    def __init__(self, path: Path, on_commit: CommitHook | None = None) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._thread = threading.Thread(
            target=self._run, name="sweatpants-sqlite-writer", daemon=True
        )
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self._conn = connect(self._path)
        self._thread.start()

    def submit(
        self, op: WriteOp, *, jobs: Iterable[str] = (), wait: bool = False
    ) -> Future[Any] | None:
        """Queue `op(conn)`; `jobs` names the jobs whose live streams should wake after commit."""
        future: Future[Any] | None = Future() if wait else None
        self._queue.put(_Write(op, frozenset(jobs), future))
        return future

    async def call(self, op: Callable[[sqlite3.Connection], T], *, jobs: Iterable[str] = ()) -> T:
        """Run `op` in the next group transaction and return its result once committed."""
        future = self.submit(op, jobs=jobs, wait=True)
        assert future is not None
        result: T = await asyncio.wrap_future(future)
        return result

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything queued so far, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self) -> None:
        assert self._conn is not None
        conn = self._conn
        stopping = False
        while not stopping:
            batch: list[_Write] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= MAX_OPS_PER_TRANSACTION:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._commit(conn, batch)
                except Exception:  # never let one bad batch end the only writer
                    log.exception("database writer: unexpected error after a commit")

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> None:
        outcomes: list[tuple[_Write, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                conn.execute("SAVEPOINT op")
                try:
                    value = write.op(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    outcomes.append((write, False, exc))
                else:
                    outcomes.append((write, True, value))
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing in this batch landed
            log.exception("database write failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(write, False, exc) for write in batch]
        touched: set[str] = set()
        for write, ok, value in outcomes:
            if ok:
                touched.update(write.jobs)
            elif write.future is None:
                log.error("dropped a database write: %s", value)
            if write.future is not None and not write.future.done():  # its waiter may be gone
                if ok:
                    write.future.set_result(value)
                else:
                    write.future.set_exception(value)
        if touched and self._on_commit is not None:
            self._on_commit(touched)


class Store:
    """The database: the writer for changes, thread-local connections for reads."""

    def __init__(self, path: Path, on_commit: CommitHook | None = None) -> None:
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
        try:
            migrate(conn)
        finally:
            conn.close()
        self.writer = Writer(path, on_commit)

    def open(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    async def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read query in a worker thread."""
        return await asyncio.to_thread(lambda: op(self.reader()))

    async def write(self, op: Callable[[sqlite3.Connection], T], *, jobs: Iterable[str] = ()) -> T:
        return await self.writer.call(op, jobs=jobs)
