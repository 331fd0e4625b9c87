"""Deleting jobs: one by id (`DELETE /jobs/{id}`), by rule (`POST /jobs/prune`), and on a
policy in the background (`SWEATPANTS_KEEP_JOBS_DAYS`).

A finished job is deleted in two steps (see `store/retention.py`): its row goes at once, in a
short write, so it disappears for every reader; then a purger task removes its log lines and
results a batch at a time through the single writer, giving free pages back to the disk as
it goes. Requests wait for the purge up to `PURGE_WAIT` seconds and say whether it is done;
a purge cut short by a restart goes on at the next start. Pending and running jobs are never
deleted (stop them first), nor the job a schedule's last run points to.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from sweatpants.config import Settings
from sweatpants.errors import Conflict, InvalidInput
from sweatpants.events import EventBus
from sweatpants.jobs.models import FINAL_STATES, parse_duration
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import retention as sql
from sweatpants.store import webhooks as webhook_sql

log = logging.getLogger(__name__)

PRUNE_PAGE = 500  # jobs dropped per write
MAX_PRUNE_PAGES = 20_000  # bound: 10 million jobs per prune
PURGE_WAIT = 30.0  # how long a request waits for the rows to be gone
POLICY_EVERY = 3600.0  # how often SWEATPANTS_KEEP_JOBS_DAYS is applied
POLICY_FIRST = 60.0  # ... the first time after start
_ZERO = re.compile(r"\s*0+(\.0*)?\s*[smhdw]?\s*")

# Extra clean-ups a prune by the policy runs (e.g. the callbacks inbox): given the cut-off
# (epoch seconds), each removes what is older and returns how many.
Cleanup = Callable[[float], Awaitable[int]]


class JobCounts(Protocol):
    """What retention needs from the scheduler: its per-state counts follow deletions."""

    async def resolve(self, job_id: str) -> str: ...

    def forget_ended(self, removed: dict[str, int]) -> None: ...


def older_than_seconds(text: Any) -> float:
    """`30d`, `12h`, `1h30m`; `0s` (or `0`) means every finished job."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            "older_than is required: a duration like 30d, 12h or 0s (every finished job)",
            field="older_than",
        )
    if _ZERO.fullmatch(text):
        return 0.0
    return parse_duration(text, field="older_than")


def checked_statuses(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidInput(
            "status must be a list of job states: completed, failed, stopped", field="status"
        )
    final = {state.value for state in FINAL_STATES}
    for item in items:
        if item not in final:
            raise InvalidInput(
                f"status {item!r} cannot be pruned: only finished jobs are "
                "(completed, failed, stopped); stop a job first",
                field="status",
            )
    return list(dict.fromkeys(items))


class Retention:
    def __init__(self, settings: Settings, store: Store, jobs: JobCounts, events: EventBus) -> None:
        self._settings = settings
        self._store = store
        self._jobs = jobs
        self._events = events
        self.cleanups: list[Cleanup] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()  # one prune at a time
        self.page_size = 4096
        self.free_pages = 0
        self.auto_vacuum = "none"
        self.purging = 0  # deleted jobs whose rows are not all gone yet

    # ---- lifecycle

    async def start(self) -> None:
        def look(conn: Any) -> tuple[int, int, str, int]:
            return (
                sql.page_size(conn),
                sql.free_pages(conn),
                sql.auto_vacuum(conn),
                sql.pending_purges(conn),
            )

        self.page_size, self.free_pages, self.auto_vacuum, self.purging = await self._store.read(
            look
        )
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._purger()))
        if self._settings.keep_jobs_days > 0:
            self._tasks.append(loop.create_task(self._policy()))
        if self.purging:
            self._idle.clear()
            self._wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def status(self) -> dict[str, Any]:
        """The database's size for `/status`: two stat calls, no query."""
        path = self._store.path
        size = _size(path)
        wal = _size(path.with_name(path.name + "-wal"))
        return {
            "path": str(path),
            "size_bytes": size + wal,
            "file_bytes": size,
            "wal_bytes": wal,
            "free_bytes": self.free_pages * self.page_size,
            "auto_vacuum": self.auto_vacuum,
            "purging_jobs": self.purging,
        }

    # ---- deleting

    async def delete(self, job_id: str) -> dict[str, Any]:
        """Delete one finished job and everything it stored."""
        full = await self._jobs.resolve(job_id)
        async with self._lock:
            dropped = await self._store.write(lambda c: sql.drop_jobs(c, [full], time.time()))
        if not dropped:
            found = await self._store.read(lambda c: job_sql.state(c, full))
            if found is None:  # deleted by someone else a moment ago
                return {"status": "deleted", "id": full, "results": 0, "logs": 0, "purged": True}
            raise Conflict(
                f"job {full} is {found[0]}; stop it first (POST /jobs/{full}/stop, "
                f"sweatpants stop {full[:8]}), then delete it"
            )
        self._dropped(dropped)
        purged = await self._wait_purged()
        item = dropped[0]
        return {
            "status": "deleted",
            "id": full,
            "results": item.result_count,
            "logs": item.log_count,
            "purged": purged,
        }

    async def prune(
        self,
        *,
        older_than: float,
        statuses: Sequence[str] = (),
        module_id: str | None = None,
        keep_last: int = 0,
    ) -> dict[str, Any]:
        """Delete the finished jobs that match; answers what went."""
        cutoff = time.time() - older_than
        removed: list[sql.Dropped] = []
        async with self._lock:
            for _ in range(MAX_PRUNE_PAGES):
                ids = await self._store.read(
                    lambda c: sql.prune_candidates(
                        c,
                        ended_before=cutoff,
                        statuses=statuses,
                        module_id=module_id,
                        keep_last=keep_last,
                        limit=PRUNE_PAGE,
                    )
                )
                if not ids:
                    break
                dropped = await self._store.write(_dropping(ids))
                if not dropped:
                    break
                self._dropped(dropped)
                removed.extend(dropped)
                if len(ids) < PRUNE_PAGE:
                    break
        purged = await self._wait_purged() if removed else True
        return {
            "removed": len(removed),
            "ids": [item.id for item in removed],
            "results": sum(item.result_count for item in removed),
            "logs": sum(item.log_count for item in removed),
            "purged": purged,
        }

    def _dropped(self, dropped: list[sql.Dropped]) -> None:
        """Job rows are gone: counts, the event, and the purger's turn."""
        removed = collections.Counter(item.status for item in dropped)
        self._jobs.forget_ended(dict(removed))
        self._events.publish({"type": "jobs_deleted", "ids": [item.id for item in dropped]})
        self.purging += len(dropped)
        self._idle.clear()
        self._wake.set()

    async def _wait_purged(self) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), PURGE_WAIT)
        return self._idle.is_set()

    # ---- background

    async def _purger(self) -> None:
        """Purge deleted jobs' rows a batch per write until none are left; then sleep."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            for _ in range(10_000_000):  # bound: 20 billion rows
                try:
                    batch = await self._store.write(sql.purge_batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a full disk, say: try again on the next wake-up
                    log.error("purging deleted jobs' rows: %s", exc)
                    await asyncio.sleep(5)
                    self._wake.set()
                    break
                self.free_pages = batch.free_pages
                self.purging = batch.remaining
                if batch.remaining == 0:
                    self._idle.set()
                    await self._give_back_space()
                    break
                await asyncio.sleep(0)  # let other writes in between batches

    async def _give_back_space(self) -> None:
        """The rows are gone: return the free pages left, a bounded number per write."""
        if self.auto_vacuum != "incremental":
            return
        for _ in range(100_000):  # bound: 400 GB of 4 KB pages
            if self.free_pages == 0 or self.purging:
                return
            self.free_pages = await self._store.write(sql.give_back_space)
            await asyncio.sleep(0)

    async def _policy(self) -> None:
        """SWEATPANTS_KEEP_JOBS_DAYS: prune finished jobs older than that, hourly (more
        often when the period is shorter than four hours)."""
        days = self._settings.keep_jobs_days
        # At least four looks per kept period, so a job is never kept much past it.
        every = min(POLICY_EVERY, max(1.0, days * 86400 / 4))
        await asyncio.sleep(min(POLICY_FIRST, every))
        while True:
            try:
                await self.apply_policy(days * 86400)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pruning jobs older than %g days failed", days)
            await asyncio.sleep(every)

    async def apply_policy(self, older_than: float) -> dict[str, Any]:
        answer = await self.prune(older_than=older_than)
        cutoff = time.time() - older_than
        deliveries = 0
        for _ in range(10_000):
            gone = await self._store.write(lambda c: webhook_sql.prune_deliveries(c, cutoff))
            deliveries += gone
            if gone == 0:
                break
        extra = 0
        for cleanup in self.cleanups:
            extra += await cleanup(cutoff)
        if answer["removed"] or deliveries or extra:
            log.info(
                "retention: deleted %d jobs (%d results, %d log lines), %d deliveries and %d "
                "other records older than %s",
                answer["removed"],
                answer["results"],
                answer["logs"],
                deliveries,
                extra,
                f"{older_than / 86400:g} days",
            )
        return answer


def _dropping(ids: list[str]) -> Callable[[Any], list[sql.Dropped]]:
    """The write that drops these jobs' rows."""
    return lambda conn: sql.drop_jobs(conn, ids, time.time())


def _size(path: os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
