"""SQLite access: one `connect()`, one writer thread, reads on their own connections.

Every write goes through `Writer`: a dedicated thread that takes whatever operations are
queued, runs them in a single `BEGIN IMMEDIATE` transaction (each in its own savepoint, so
one failing operation does not undo its neighbours), commits once and then reports back.
That is how logs and results from many jobs reach the disk in group commits without a
commit per row. Reads run in worker threads, each with its own connection (WAL lets them
proceed while the writer commits).

A full disk is handled here too (see `space.py`): when a transaction fails for lack of
space, the writer spends the space reserve and retries the writes marked `essential` (final
job states and the log lines explaining them) on their own; every other write of the batch,
and every later one until space returns, fails at once with `InsufficientStorage`, so what
the reserve freed is kept for the writes that keep job states true.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sweatpants.errors import InsufficientStorage
from sweatpants.store.schema import migrate
from sweatpants.store.space import Space, is_disk_full

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]
CommitHook = Callable[[set[str]], None]
BatchObserver = Callable[[int, float], None]  # (operations, seconds) of each transaction

log = logging.getLogger(__name__)

MAX_OPS_PER_TRANSACTION = 2000
WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the settings every part of Sweatpants relies on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    # A new file gives deleted rows' space back to the disk (store/retention.py); this must
    # come before WAL mode and the first table, so it only ever applies to an empty file.
    if conn.execute("PRAGMA page_count").fetchall()[0][0] == 0:  # fetchall: no open statement
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


class _Write:
    __slots__ = ("essential", "future", "jobs", "op")

    def __init__(
        self, op: WriteOp, jobs: frozenset[str], future: Future[Any] | None, essential: bool
    ) -> None:
        self.op = op
        self.jobs = jobs
        self.future = future
        self.essential = essential


_STOP = object()
Outcome = tuple[_Write, bool, Any]


class Writer:
    """The single writer thread. `submit` queues an operation; `call` awaits its result."""

    def __init__(self, path: Path, on_commit: CommitHook | None = None, space: Space | None = None):
        self._path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._space = space if space is not None else Space(path, 0)
        self._thread = threading.Thread(
            target=self._run, name="sweatpants-sqlite-writer", daemon=True
        )
        self._conn: sqlite3.Connection | None = None
        self._checkpointing = True
        # Told the size and time of each transaction (the engine's metrics); set before start.
        self.observe: BatchObserver | None = None

    def start(self) -> None:
        self._conn = connect(self._path)
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        self._thread.start()

    def submit(
        self,
        op: WriteOp,
        *,
        jobs: Iterable[str] = (),
        wait: bool = False,
        essential: bool = False,
    ) -> Future[Any] | None:
        """Queue `op(conn)`; `jobs` names the jobs whose live streams should wake after commit.

        `essential` writes keep job states true (final states, the log lines that explain
        them): they may use the space reserve and are never refused for lack of space.
        """
        future: Future[Any] | None = Future() if wait else None
        self._queue.put(_Write(op, frozenset(jobs), future, essential))
        return future

    async def call(
        self,
        op: Callable[[sqlite3.Connection], T],
        *,
        jobs: Iterable[str] = (),
        essential: bool = False,
    ) -> T:
        """Run `op` in the next group transaction and return its result once committed."""
        future = self.submit(op, jobs=jobs, wait=True, essential=essential)
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
                except Exception as exc:  # never let one bad batch end the only writer
                    log.exception("database writer: unexpected error")
                    for write in batch:  # and never leave a waiter waiting
                        if write.future is not None and not write.future.done():
                            write.future.set_exception(exc)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> None:
        outcomes: list[Outcome] = []
        self._follow_space(conn)
        if self._space.full:  # keep what the reserve freed for the writes that must land
            cause = "still full since an earlier write failed"
            outcomes += [(w, False, self._no_space(cause)) for w in batch if not w.essential]
            batch = [w for w in batch if w.essential]
        if batch:
            began = time.perf_counter()
            done, full = self._transaction(conn, batch)
            if self.observe is not None:
                self.observe(len(batch), time.perf_counter() - began)
            outcomes += done
            if full is not None:
                outcomes += self._after_disk_full(conn, batch, full)
        self._report(outcomes)

    def _after_disk_full(
        self, conn: sqlite3.Connection, batch: list[_Write], cause: BaseException
    ) -> list[Outcome]:
        """The batch failed for lack of space: spend the reserve, retry the essential writes."""
        released = self._space.spend_reserve()
        if released:
            log.error("database write failed, the disk is full (%s); released the reserve", cause)
            self._follow_space(conn)
        outcomes: list[Outcome] = [
            (w, False, self._no_space(str(cause))) for w in batch if not w.essential
        ]
        essential = [w for w in batch if w.essential]
        if essential and not released:  # the reserve was spent before: nothing to retry with
            outcomes += [(w, False, self._no_space(str(cause))) for w in essential]
        elif essential:
            done, full = self._transaction(conn, essential)
            outcomes += done
            if full is not None:
                log.error("an essential database write failed even after the reserve: %s", full)
                outcomes += [(w, False, self._no_space(str(full))) for w in essential]
        return outcomes

    def _follow_space(self, conn: sqlite3.Connection) -> None:
        """No automatic WAL checkpoints while the disk is full: copying the WAL into the
        database grows the database file, and would eat the reserve that the final states
        need (each of those only appends a few pages to the WAL). Back on once space is."""
        wanted = not self._space.full
        if wanted != self._checkpointing:
            pages = WAL_AUTOCHECKPOINT_PAGES if wanted else 0
            conn.execute(f"PRAGMA wal_autocheckpoint = {pages}")
            self._checkpointing = wanted

    def _no_space(self, cause: str) -> InsufficientStorage:
        return InsufficientStorage(
            f"the disk is full: no room left in {self._space.directory} to store more "
            f"({cause}); free some space there, no restart needed"
        )

    def _transaction(
        self, conn: sqlite3.Connection, writes: list[_Write]
    ) -> tuple[list[Outcome], BaseException | None]:
        """Run `writes` in one transaction, each in a savepoint.

        Returns their outcomes, or no outcomes and the error when the disk was full (then
        nothing landed, and the caller decides what to retry).
        """
        outcomes: list[Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in writes:
                conn.execute("SAVEPOINT op")
                try:
                    value = write.op(conn)
                except Exception as exc:
                    if is_disk_full(exc) or not conn.in_transaction:
                        # SQLite rolled back the whole transaction (a full disk, an I/O
                        # error): no savepoint is left, and the batch fails with this error.
                        raise
                    conn.execute("ROLLBACK TO op")
                    outcomes.append((write, False, exc))
                else:
                    outcomes.append((write, True, value))
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing in this batch landed
            self._rollback(conn)
            if is_disk_full(exc):
                return [], exc
            log.exception("database write failed")
            outcomes = [(write, False, exc) for write in writes]
        return outcomes, None

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:  # SQLite may have rolled back on its own
                log.warning("rollback after a failed write: %s", exc)

    def _report(self, outcomes: list[Outcome]) -> None:
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

    def __init__(
        self, path: Path, on_commit: CommitHook | None = None, *, min_free_bytes: int = 0
    ) -> None:
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
        self.space = Space(path, min_free_bytes)
        self.writer = Writer(path, on_commit, self.space)

    def open(self) -> None:
        self.space.open()
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

    async def write(
        self,
        op: Callable[[sqlite3.Connection], T],
        *,
        jobs: Iterable[str] = (),
        essential: bool = False,
    ) -> T:
        """Run `op` in the writer; `essential` as in `Writer.submit` (may use the reserve)."""
        return await self.writer.call(op, jobs=jobs, essential=essential)
