"""The scheduler's side of a full disk: final states that must land, and watching for space.

`Endings` writes a job's final state through the store's space reserve (`essential`) and
returns the job as that write left it. If even that fails, the state is kept in memory,
shown as if stored (so no job ever looks `running` with nothing behind it) and written as
soon as there is room.

`SpaceWatch` looks at the free space once a second until shutdown: it writes the reserve
back when space returns, publishes a `disk` event on `WS /events` whenever the disk turns
low, full or fine (whenever `low` or `full` changes), and hands each look to the scheduler
(which then stores waiting endings and starts queued jobs).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

from sweatpants.errors import InsufficientStorage
from sweatpants.events import EventBus
from sweatpants.jobs.models import Job, JobStatus
from sweatpants.jobs.queries import JobReads
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store.space import DiskState, Space

log = logging.getLogger(__name__)

SPACE_CHECK_SECONDS = 1.0  # how often free space is looked at (one statvfs)


def disk_full_error(space: Space) -> str:
    """A job's error when its output could not be stored: what, where, and what to do."""
    return (
        f"disk full: no room left in {space.directory} to store this job's output, so the "
        "job was stopped (what it stored before stays readable); free some space there and "
        "run it again, no restart needed"
    )


class Endings:
    """Final job states into the store, held in memory only while even the reserve is gone."""

    def __init__(self, store: Store, reads: JobReads) -> None:
        self._store = store
        self._reads = reads
        self._unsaved: dict[str, dict[str, Any]] = {}

    @property
    def waiting(self) -> bool:
        return bool(self._unsaved)

    async def record(
        self,
        job_id: str,
        status: JobStatus,
        *,
        error: str | None,
        traceback: str | None,
        exit_code: int | None,
    ) -> Job | None:
        """Store the job's end; return the job as it now stands (None if there is no such job).
        An end that does not fit is shown over the stored row (the one read here)."""
        ending: dict[str, Any] = {
            "status": status.value,
            "now": time.time(),
            "error": error,
            "traceback": traceback,
            "exit_code": exit_code,
        }
        try:
            return await self._write(job_id, ending)
        except InsufficientStorage as exc:
            log.error("job %s: its end (%s) is not stored yet: %s", job_id, status, exc)
            self._unsaved[job_id] = ending
        job = await self._reads.job(job_id)
        return self.overlay(job) if job is not None else None

    async def retry(self) -> None:
        """Store the endings that are waiting for room, oldest first; stop at the first
        that still does not fit."""
        for job_id, ending in list(self._unsaved.items()):
            try:
                await self._write(job_id, ending)
            except InsufficientStorage:
                return
            del self._unsaved[job_id]
            log.info("job %s: its end (%s) is stored now", job_id, ending["status"])

    def overlay(self, job: Job) -> Job:
        """The job as the API shows it, with an end that is not stored yet applied."""
        ending = self._unsaved.get(job.id)
        if ending is None:
            return job
        return replace(
            job,
            status=JobStatus(ending["status"]),
            completed_at=ending["now"],
            error=ending["error"],
            traceback=ending["traceback"],
            exit_code=ending["exit_code"],
            pid=None,
        )

    async def _write(self, job_id: str, ending: dict[str, Any]) -> Job | None:
        record = await self._store.write(
            partial(job_sql.finish, job_id=job_id, **ending), jobs=[job_id], essential=True
        )
        return Job.from_record(record) if record is not None else None


class SpaceWatch:
    """Once a second until stopped: recover the reserve, publish changes, call `on_look`."""

    def __init__(
        self,
        space: Space,
        events: EventBus,
        on_look: Callable[[DiskState], Awaitable[None]],
        interval: float = SPACE_CHECK_SECONDS,
    ) -> None:
        self._space = space
        self._events = events
        self._on_look = on_look
        self._interval = interval
        self._shown: tuple[bool, bool] | None = None  # (low, full) of the last event
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:  # until stop() cancels it at shutdown
            try:
                await asyncio.to_thread(self._space.recover)
                state = self._space.measure()
                # `full` is watched on its own: the disk is often seen low (even at 0 B
                # free) before a write fails for lack of space, and then `low` stays true
                # while `full` turns true; that must reach the dashboard too.
                if (state.low, state.full) != self._shown:
                    self._changed(state)
                await self._on_look(state)
            except Exception:  # the watch must outlive any one bad look
                log.exception("disk space check failed")
            await asyncio.sleep(self._interval)

    def _changed(self, state: DiskState) -> None:
        first = self._shown is None
        self._shown = (state.low, state.full)
        if state.low:
            log.warning("%s", state.describe())
        elif not first:
            log.info("disk space is back in %s: %d bytes free", state.path, state.free_bytes)
        self._events.publish({"type": "disk", "disk": state.to_api()})
