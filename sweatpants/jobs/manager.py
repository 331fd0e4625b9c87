"""The scheduler: accepts jobs, runs them through an executor, and records every transition.

A job is `pending` until a slot is free (first come, first served, at most
`max_running_jobs` at once), then `running` while its runner streams messages, then
`completed`, `failed` or `stopped`. Every transition is written to the store and published on
the event bus. Jobs left `running` by a daemon that went down are put back in the queue at
start, with results newer than their last checkpoint dropped, so that after a resume every
result appears exactly once.

A full disk is a state like any other: below the free-space minimum new jobs are refused
(507) and queued ones wait; a job whose output cannot be stored for lack of space is killed
and ends `failed` saying so (its final state goes in through the store's space reserve);
a watcher notices when space returns, writes the reserve back and starts the queue again.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from sweatpants.config import Settings
from sweatpants.errors import Ambiguous, Conflict, InsufficientStorage, NotFound, Unavailable
from sweatpants.events import EventBus
from sweatpants.jobs import protocol
from sweatpants.jobs.executor import Exit, LaunchError, RunHandle
from sweatpants.jobs.executors import Executors
from sweatpants.jobs.models import JobStatus, human_duration, iso, job_to_api, parse_duration
from sweatpants.jobs.space_watch import Endings, SpaceWatch, disk_full_error
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store.space import DiskState

log = logging.getLogger(__name__)

MIN_PREFIX = 8
MAX_WRITES_IN_FLIGHT = 4
PROGRESS_EVENT_SECONDS = 0.5
KILL_AFTER_TERM_SECONDS = 3.0
MAX_LOST_RUNNER_RESUMES = 3  # per job and daemon run: a runner whose machine went away
DRAIN_IDLE_SECONDS = 5.0  # after the process ends, how long a silent output pipe is waited for


class ModuleLookup(Protocol):
    """What the scheduler needs from the module registry."""

    def get(self, module_id: str) -> Any: ...


@dataclass
class ActiveJob:
    """A job holding a run slot: being launched, running, or winding down."""

    id: str
    module_id: str
    started_at: float
    next_seq: int
    handle: RunHandle | None = None
    stop_reason: str | None = None
    error: str | None = None
    traceback: str | None = None
    done: bool = False
    progress: dict[str, Any] | None = None
    log_count: int = 0
    last_frame_at: float = field(default_factory=time.monotonic)
    progress_published: float = 0.0
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    escalation: asyncio.Task[None] | None = None
    requeue: bool = False  # its runner was lost; run it again from its checkpoint
    out_of_space: bool = False  # its output could not be stored: the disk is full


class JobManager:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        modules: ModuleLookup,
        events: EventBus,
        executors: Executors,
        services: dict[str, Any],
    ) -> None:
        self._settings = settings
        self._store = store
        self._modules = modules
        self._events = events
        self._executors = executors
        self._lost_runners: collections.Counter[str] = collections.Counter()
        self._services = services
        self._queue: collections.OrderedDict[str, str] = collections.OrderedDict()  # id → module
        self._active: dict[str, ActiveJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._accepting = False
        self._shutting_down = False
        self._space = store.space
        self._space_watch = SpaceWatch(store.space, events, self._space_looked_at)
        self._endings = Endings(store)
        self._interrupted: dict[str, Any] = {}  # id → row: left `running`, not yet requeued

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self._executors.start()
        self._counts.update(await self._store.read(job_sql.count_by_status))
        interrupted = await self._store.read(lambda c: job_sql.with_status(c, ["running"]))
        self._interrupted = {row["id"]: row for row in interrupted}
        await self._resume_interrupted()
        pending = await self._store.read(lambda c: job_sql.with_status(c, ["pending"]))
        self._queue.update((row["id"], row["module_id"]) for row in pending)
        self._accepting = True
        self._space_watch.start()
        self._schedule()

    async def _resume_interrupted(self) -> None:
        """Put jobs left `running` by a daemon that went down back in the queue, from their
        last checkpoint; on a disk too full even for that, the space watch tries again."""
        for job_id, row in list(self._interrupted.items()):
            try:
                await self._store.write(
                    partial(job_sql.prepare_resume, job_id=job_id), jobs=[job_id], essential=True
                )
            except InsufficientStorage as exc:
                log.error("job %s: cannot be put back in the queue yet: %s", job_id, exc.detail)
                return
            del self._interrupted[job_id]
            dropped = row["result_count"] - row["checkpoint_seq"]
            await self._system_log(
                job_id,
                "INFO",
                "the daemon stopped while this job ran; resuming from its last checkpoint"
                + (f" (dropping {dropped} results recorded after it)" if dropped else ""),
            )
            self._queue[job_id] = row["module_id"]
            self._move_count(JobStatus.RUNNING, JobStatus.PENDING)
            await self._publish(job_id)

    async def shutdown(self) -> None:
        """Stop taking jobs; let running ones wind down within the grace; keep them for resume."""
        self._accepting = False
        self._shutting_down = True
        self._space_watch.stop()
        for active in list(self._active.values()):
            if active.handle is not None:
                active.handle.cancel()
        await self._wait_active(self._settings.stop_grace_seconds)
        for active in list(self._active.values()):
            if active.handle is not None:
                active.handle.terminate()
        await self._wait_active(KILL_AFTER_TERM_SECONDS)
        for active in list(self._active.values()):
            if active.handle is not None:
                active.handle.kill()
        await self._wait_active(KILL_AFTER_TERM_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        if self._endings.waiting:
            await self._endings.retry()
        await self._executors.close()

    async def _wait_active(self, timeout: float) -> None:
        """Until every job holding a slot has ended (its `_run` task done), or `timeout`."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # ---- queries ---------------------------------------------------------------------------

    async def resolve(self, job_id: str) -> str:
        """A full id from a full id or a unique prefix of at least 8 characters."""
        row = await self._store.read(lambda c: job_sql.get(c, job_id))
        if row is not None:
            return job_id
        if len(job_id) < MIN_PREFIX:
            raise NotFound(
                f"no job with id {job_id!r} (give the full id or at least {MIN_PREFIX} characters)"
            )
        matches = await self._store.read(lambda c: job_sql.ids_with_prefix(c, job_id))
        if not matches:
            raise NotFound(f"no job with id {job_id!r}")
        if len(matches) > 1:
            raise Ambiguous(
                f"job id prefix {job_id!r} matches {len(matches)} jobs: {', '.join(matches)}",
                matches=matches,
            )
        return matches[0]

    async def get(self, job_id: str) -> dict[str, Any]:
        full = await self.resolve(job_id)
        row = await self._store.read(lambda c: job_sql.get(c, full))
        if row is None:
            raise NotFound(f"no job with id {job_id!r}")
        job = self._endings.overlay(job_to_api(row))
        if full in self._interrupted:  # waiting for room to be put back in the queue
            job.update(status=JobStatus.PENDING.value, pid=None)
        return job

    def running(self) -> list[dict[str, Any]]:
        """Jobs holding a slot, from memory (cheap enough for `/status` at any rate)."""
        return [
            {
                "id": a.id,
                "module": a.module_id,
                "module_id": a.module_id,
                "status": JobStatus.RUNNING.value,
                "started_at": iso(a.started_at),
                "progress": a.progress,
            }
            for a in self._active.values()
        ]

    def counts(self) -> dict[str, int]:
        return {status.value: self._counts.get(status.value, 0) for status in JobStatus}

    def disk(self) -> dict[str, Any]:
        """Free space where the database lives, for `/status` (one statvfs)."""
        return self._space.measure().to_api()

    def active_module_ids(self) -> set[str]:
        """Modules with a job pending or running (they must not be uninstalled)."""
        return {a.module_id for a in self._active.values()} | set(self._queue.values())

    # ---- commands --------------------------------------------------------------------------

    async def submit(
        self,
        module_id: str,
        inputs: dict[str, Any] | None,
        settings: dict[str, Any] | None,
        max_duration: str | None,
        executor: str | None = None,
    ) -> dict[str, Any]:
        if not self._accepting:
            raise Unavailable("the daemon is shutting down and takes no new jobs")
        installed = self._modules.get(module_id)
        executor_name = self._executors.check(executor)
        # A cluster installs requirements itself (Ray's runtime_env); only local jobs need them here.
        if executor_name == "local" and getattr(installed, "requirements_pending", False):
            raise Conflict(
                f"module {module_id!r} has a requirements.txt that is not installed yet; "
                "install it with POST /modules/reload (sweatpants module reload)"
            )
        manifest = installed.manifest
        clean_inputs = manifest.coerce_inputs(inputs or {})
        clean_settings = manifest.coerce_settings(settings or {})
        max_seconds = parse_duration(max_duration) if max_duration else None
        job_id = str(uuid.uuid4())
        row = {
            "id": job_id,
            "module_id": manifest.id,
            "status": JobStatus.PENDING.value,
            "inputs": json.dumps(clean_inputs),
            "settings": json.dumps(clean_settings),
            "max_duration": max_duration,
            "max_seconds": max_seconds,
            "created_at": time.time(),
            "executor": executor_name,
        }
        state = self._space.measure()
        if state.low:
            raise InsufficientStorage(f"not starting a new job: {state.describe()}")
        await self._store.write(lambda c: job_sql.insert(c, row), jobs=[job_id])
        self._counts[JobStatus.PENDING.value] += 1
        self._queue[job_id] = manifest.id
        await self._publish(job_id)
        self._schedule()
        return {"id": job_id, "status": JobStatus.PENDING.value}

    async def stop(self, job_id: str) -> dict[str, Any]:
        full = await self.resolve(job_id)
        active = self._active.get(full)
        if active is not None:
            if active.stop_reason is None:
                active.stop_reason = "stopped on request"
                await self._system_log(
                    full,
                    "INFO",
                    f"stop requested; the module has {self._settings.stop_grace_seconds:g}s to "
                    "finish before it is terminated",
                )
                self._begin_stop(active)
            return {"id": full, "status": "stopping"}
        if full in self._queue or full in self._interrupted:
            previous = JobStatus.RUNNING if full in self._interrupted else JobStatus.PENDING
            self._queue.pop(full, None)
            self._interrupted.pop(full, None)
            await self._finish_row(full, JobStatus.STOPPED, previous, error=None)
            return {"id": full, "status": JobStatus.STOPPED.value}
        job = await self.get(full)
        raise Conflict(f"job {full} has already ended ({job['status']}); there is nothing to stop")

    # ---- scheduling ------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not (self._queue and self._accepting):
            return
        if self._space.measure().low:
            return  # queued jobs wait for space; the space watcher schedules them when it is back
        while (
            self._accepting and self._queue and len(self._active) < self._settings.max_running_jobs
        ):
            job_id, module_id = self._queue.popitem(last=False)
            active = ActiveJob(id=job_id, module_id=module_id, started_at=time.time(), next_seq=0)
            self._active[job_id] = active
            self._spawn(self._run(active))

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, active: ActiveJob) -> None:
        try:
            await self._launch_and_supervise(active)
        except Exception as exc:  # a bug of ours must not leave the job stuck `running`
            log.exception("job %s: supervisor error", active.id)
            if active.handle is not None:
                active.handle.kill()  # nobody reads its output any more
            if isinstance(exc, InsufficientStorage):
                active.out_of_space = True
                active.error = disk_full_error(self._space)
            active.error = active.error or f"internal error in the daemon: {exc}"
            await self._finish(active, Exit(code=None))
        finally:
            for timer in active.timers:
                timer.cancel()
            if active.escalation is not None:
                active.escalation.cancel()
            self._active.pop(active.id, None)
            if active.requeue:
                self._queue[active.id] = active.module_id
            self._schedule()

    async def _launch_and_supervise(self, active: ActiveJob) -> None:
        row = await self._store.read(lambda c: job_sql.get(c, active.id))
        if row is None:
            return
        active.module_id = row["module_id"]
        active.next_seq = row["result_count"]
        active.log_count = row["log_count"]
        now = time.time()
        deadline = row["deadline_at"] or (
            now + row["max_seconds"] if row["max_seconds"] is not None else None
        )
        if deadline is not None and deadline <= now:
            active.stop_reason = f"max_duration {row['max_duration']} reached"
            await self._finish(active, Exit(code=None))
            return
        try:
            installed = self._modules.get(row["module_id"])
        except NotFound as exc:
            active.error = exc.detail
            await self._finish(active, Exit(code=None))
            return
        spec = protocol.JobSpec(
            job_id=active.id,
            module_id=row["module_id"],
            module_dir=str(installed.path),
            entrypoint=str(installed.manifest.entrypoint),
            deps_path=str(installed.deps_path) if installed.deps_path else None,
            inputs=json.loads(row["inputs"]),
            settings=json.loads(row["settings"]),
            checkpoint=json.loads(row["checkpoint"]) if row["checkpoint"] else None,
            services=dict(self._services),
        )
        try:
            executor = await self._executors.ready(row["executor"])
            handle = await executor.launch(spec)
        except LaunchError as exc:
            active.error = exc.detail
            await self._system_log(active.id, "ERROR", f"could not start the job: {exc.detail}")
            await self._finish(active, Exit(code=None))
            return
        active.handle = handle
        if row["deadline_at"] is None and row["max_seconds"] is not None:
            # max_duration counts from when the runner started: a cluster may take a while
            # to place a job and build its environment.
            now = time.time()
            deadline = now + row["max_seconds"]
        active.started_at = row["started_at"] or now
        await self._store.write(
            lambda c: job_sql.mark_running(c, active.id, now=now, pid=handle.pid, node=handle.node),
            jobs=[active.id],
            essential=True,
        )
        self._move_count(JobStatus.PENDING, JobStatus.RUNNING)
        await self._publish(active.id)
        if deadline is not None:
            loop = asyncio.get_running_loop()
            active.timers.append(
                loop.call_later(max(0.0, deadline - time.time()), self._deadline_reached, active)
            )
        if active.stop_reason is not None:
            self._begin_stop(active)
        pump = asyncio.ensure_future(self._pump(active, handle))
        # If its output cannot be read (a corrupt stream), the job cannot go on: end it, so
        # the wait below returns and the job is recorded as failed with the reason.
        pump.add_done_callback(
            lambda done: handle.kill() if not done.cancelled() and done.exception() else None
        )
        exit_info = await handle.wait()
        await self._drain(active, pump)
        await self._finish(active, exit_info)

    async def _pump(self, active: ActiveJob, handle: RunHandle) -> None:
        """Move the runner's messages into the store, a bounded number of writes in flight
        (until the disk is full: then the job is killed and nothing more is read)."""
        in_flight: collections.deque[asyncio.Future[Any]] = collections.deque()
        frames = handle.frames()
        try:
            async for frame in frames:
                active.last_frame_at = time.monotonic()
                op = self._ingest(active, frame)
                future = self._store.writer.submit(op, jobs=[active.id], wait=True)
                assert future is not None
                in_flight.append(asyncio.wrap_future(future))
                if len(in_flight) >= MAX_WRITES_IN_FLIGHT:
                    await in_flight.popleft()
            while in_flight:
                await in_flight.popleft()
        except InsufficientStorage as exc:
            await asyncio.gather(*in_flight, return_exceptions=True)
            await self._out_of_space(active, handle, exc)
            close = getattr(frames, "aclose", None)
            if close is not None:
                await close()

    async def _out_of_space(
        self, active: ActiveJob, handle: RunHandle, exc: InsufficientStorage
    ) -> None:
        """The job's output cannot be stored: end its process now and fail it saying why."""
        handle.kill()
        if active.out_of_space:
            return
        active.out_of_space = True
        active.error, active.traceback = disk_full_error(self._space), None
        log.error("job %s: stopped, its output cannot be stored: %s", active.id, exc.detail)
        await self._system_log(active.id, "ERROR", active.error)

    async def _drain(self, active: ActiveJob, pump: asyncio.Future[None]) -> None:
        """After the process ended, store what it left in the pipe. Give up only when nothing
        has arrived for DRAIN_IDLE_SECONDS: something the module started holds the pipe open."""
        while not pump.done():
            await asyncio.wait({pump}, timeout=1.0)
            if not pump.done() and time.monotonic() - active.last_frame_at > DRAIN_IDLE_SECONDS:
                pump.cancel()
                await self._system_log(
                    active.id, "WARNING", "the job's output stayed open after its process ended"
                )
                return
        if not pump.cancelled() and pump.exception() is not None:
            raise pump.exception()  # type: ignore[misc]

    def _ingest(self, active: ActiveJob, frame: list[list[Any]]) -> Any:
        logs: list[log_sql.LogRow] = []
        results: list[result_sql.ResultRow] = []
        checkpoint: tuple[str, int] | None = None
        progress: tuple[float, float | None] | None = None
        for message in frame:
            kind = message[0]
            if kind == protocol.RESULT:
                active.next_seq += 1
                results.append((active.next_seq, message[1], message[2]))
            elif kind == protocol.LOG:
                logs.append((message[1], str(message[2]).upper(), str(message[3])))
            elif kind == protocol.CHECKPOINT:
                checkpoint = (message[1], active.next_seq)
            elif kind == protocol.PROGRESS:
                progress = (message[1], message[2])
            elif kind == protocol.DONE:
                active.done = True
            elif kind == protocol.ERROR:
                active.error, active.traceback = message[1], message[2]
                logs.append((time.time(), "ERROR", f"job failed: {message[1]}"))
        if progress is not None:
            active.progress = {"done": progress[0], "total": progress[1]}
        active.log_count += len(logs)
        self._publish_progress(active)
        job_id = active.id

        def write(conn: Any) -> None:
            if logs:
                log_sql.append(conn, job_id, logs)
            if results:
                result_sql.append(conn, job_id, results)
            if logs or results:
                job_sql.add_counts(conn, job_id, results=len(results), logs=len(logs))
            if checkpoint is not None:
                job_sql.save_checkpoint(conn, job_id, checkpoint[0], checkpoint[1])
            if progress is not None:
                job_sql.save_progress(conn, job_id, progress[0], progress[1])

        return write

    def _publish_progress(self, active: ActiveJob) -> None:
        """A throttled `progress` event: the progress bar and the result and log counts."""
        now = time.monotonic()
        if now - active.progress_published >= PROGRESS_EVENT_SECONDS:
            active.progress_published = now
            self._events.publish(
                {
                    "type": "progress",
                    "id": active.id,
                    "progress": active.progress,
                    "result_count": active.next_seq,
                    "log_count": active.log_count,
                }
            )

    # ---- stopping --------------------------------------------------------------------------

    def _deadline_reached(self, active: ActiveJob) -> None:
        if active.stop_reason is None:
            row_duration = human_duration(time.time() - active.started_at)
            active.stop_reason = f"max_duration reached after {row_duration}"
            self._spawn(self._system_log(active.id, "INFO", f"{active.stop_reason}; stopping"))
            self._begin_stop(active)

    def _begin_stop(self, active: ActiveJob) -> None:
        if active.handle is None or active.escalation is not None:
            return
        active.handle.cancel()
        active.escalation = asyncio.get_running_loop().create_task(self._escalate(active))

    async def _escalate(self, active: ActiveJob) -> None:
        handle = active.handle
        assert handle is not None
        await asyncio.sleep(self._settings.stop_grace_seconds)
        await self._system_log(
            active.id,
            "WARNING",
            f"the module did not stop within {self._settings.stop_grace_seconds:g}s; "
            "terminating it",
        )
        handle.terminate()
        await asyncio.sleep(min(KILL_AFTER_TERM_SECONDS, self._settings.stop_grace_seconds))
        await self._system_log(active.id, "WARNING", "the job process ignored SIGTERM; killing it")
        handle.kill()

    # ---- endings ---------------------------------------------------------------------------

    async def _finish(self, active: ActiveJob, exit_info: Exit) -> None:
        if self._shutting_down and active.handle is not None:
            await self._system_log(
                active.id, "INFO", "the daemon is stopping; this job will resume on its next start"
            )
            return  # the row stays `running`, which is what start() resumes
        lost = exit_info.resume and not (active.done or active.out_of_space)
        if lost and active.stop_reason is None:
            self._lost_runners[active.id] += 1
            if self._lost_runners[active.id] <= MAX_LOST_RUNNER_RESUMES:
                await self._resume_lost(active, exit_info.describe())
                return
        error, traceback = None, None
        if active.out_of_space:
            status, error = JobStatus.FAILED, active.error
        elif active.stop_reason is not None:
            status = JobStatus.STOPPED
            error = active.stop_reason if "max_duration" in active.stop_reason else None
        elif active.error is not None:
            status, error, traceback = JobStatus.FAILED, active.error, active.traceback
        elif exit_info.code == 0 and active.done:
            status = JobStatus.COMPLETED
        else:
            status = JobStatus.FAILED
            error = exit_info.describe() + " before the module finished"
            await self._system_log(active.id, "ERROR", error)
        previous = JobStatus.RUNNING if active.handle is not None else JobStatus.PENDING
        await self._finish_row(
            active.id, status, previous, error=error, traceback=traceback, exit_code=exit_info.code
        )

    async def _resume_lost(self, active: ActiveJob, reason: str) -> None:
        """Put a job whose runner was lost back in the queue, from its last checkpoint."""
        row = await self._store.read(lambda c: job_sql.get(c, active.id))
        dropped = (row["result_count"] - row["checkpoint_seq"]) if row is not None else 0
        await self._store.write(
            partial(job_sql.prepare_resume, job_id=active.id), jobs=[active.id], essential=True
        )
        await self._system_log(
            active.id,
            "WARNING",
            f"{reason}; resuming from its last checkpoint"
            + (f" (dropping {dropped} results recorded after it)" if dropped else ""),
        )
        self._move_count(JobStatus.RUNNING, JobStatus.PENDING)
        active.requeue = True
        await self._publish(active.id)

    async def _finish_row(
        self,
        job_id: str,
        status: JobStatus,
        previous: JobStatus,
        *,
        error: str | None,
        traceback: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        await self._endings.record(
            job_id, status.value, error=error, traceback=traceback, exit_code=exit_code
        )
        self._move_count(previous, status)
        await self._publish(job_id)

    async def _space_looked_at(self, state: DiskState) -> None:
        """Each look of the space watch: store waiting endings; start queued jobs if there is room."""
        if self._endings.waiting:
            await self._endings.retry()
        if self._interrupted:
            await self._resume_interrupted()
        if not state.low:
            self._schedule()

    def _move_count(self, before: JobStatus, after: JobStatus) -> None:
        self._counts[before.value] -= 1
        self._counts[after.value] += 1

    async def _system_log(self, job_id: str, level: str, message: str) -> None:
        """A `[sweatpants]` line in the job's log; lost (and said so here) only if even the
        space reserve is gone, since a missing line must never stop a job from ending."""
        entry = [(time.time(), level, f"[sweatpants] {message}")]

        def write(conn: Any) -> None:
            log_sql.append(conn, job_id, entry)
            job_sql.add_counts(conn, job_id, results=0, logs=1)

        try:
            await self._store.write(write, jobs=[job_id], essential=True)
        except InsufficientStorage as exc:
            log.error("job %s: log line not stored (%s): %s", job_id, exc, message)

    async def _publish(self, job_id: str) -> None:
        row = await self._store.read(lambda c: job_sql.get(c, job_id))
        if row is not None:
            self._events.publish({"type": "job", "job": self._endings.overlay(job_to_api(row))})
