"""The scheduler: accepts jobs, runs them through an executor, and records every transition.

A job is `pending` until a slot is free (first come, first served, at most
`max_running_jobs` at once), then `running` while its runner streams messages, then
`completed`, `failed` or `stopped`. Every transition is written to the store and published on
the event bus. Jobs left `running` by a daemon that went down are put back in the queue at
start, with results newer than their last checkpoint dropped, so that after a resume every
result appears exactly once.

Each write that changes a job hands back the `Job` as that same transaction left it, and that
is what gets published: publishing never reads the row again. Reads for the API go through
`self.reads` (`queries.py`); the runner's output goes in through `ActiveJob.output_write`.

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
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, Protocol

from sweatpants.config import Settings
from sweatpants.errors import ConfigError, Conflict, InsufficientStorage, NotFound, Unavailable
from sweatpants.events import EventBus
from sweatpants.jobs import protocol, search
from sweatpants.jobs.active import ActiveJob
from sweatpants.jobs.executor import Exit, LaunchError, RunHandle
from sweatpants.jobs.executors import Executors
from sweatpants.jobs.masking import PlainSecrets
from sweatpants.jobs.models import Job, JobStatus, JobTrigger, human_duration, iso, parse_duration
from sweatpants.jobs.queries import JobReads
from sweatpants.jobs.retries import (
    DEFAULT_RETRY_DELAY,
    MAX_RETRY_DELAY_SECONDS,
    check_retries,
    retry_backoff,
)
from sweatpants.jobs.space_watch import Endings, SpaceWatch, disk_full_error
from sweatpants.metrics import Metrics
from sweatpants.secrets import SecretBox
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store.job_search import JobFilter, Order, SortKey
from sweatpants.store.space import DiskState

log = logging.getLogger(__name__)

MAX_WRITES_IN_FLIGHT = 4
PROGRESS_EVENT_SECONDS = 0.5
KILL_AFTER_TERM_SECONDS = 3.0
MAX_LOST_RUNNER_RESUMES = 3  # per job and daemon run: a runner whose machine went away
RETRY_CHECK_SECONDS = 1.0  # a retry's wait is checked against the wall clock this often
DRAIN_IDLE_SECONDS = 5.0  # after the process ends, how long a silent output pipe is waited for


class ModuleLookup(Protocol):
    """What the scheduler needs from the module registry."""

    def get(self, module_id: str) -> Any: ...


class SettingsSource(Protocol):
    """Where a new job's settings start from: the module's stored settings, under its own."""

    async def merged(self, manifest: Any, own: dict[str, Any] | None) -> Any: ...


class JobManager:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        modules: ModuleLookup,
        events: EventBus,
        executors: Executors,
        services: dict[str, Any],
        *,
        secrets: SecretBox | None = None,
        stored_settings: SettingsSource | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics if metrics is not None else Metrics()  # GET /metrics
        self._stored_settings = stored_settings
        self._settings = settings
        self._secrets = secrets if secrets is not None else SecretBox.open(settings.data_dir)
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
        self.reads = JobReads(store)
        self._plain_secrets = PlainSecrets(modules)  # rows from before secrets were sealed
        self._endings = Endings(store, self.reads)
        self._interrupted: dict[str, str] = {}  # id → module: left `running`, not yet requeued
        # Failed attempts waiting for their retry_at (id → module), and the tasks that wait.
        self._retrying: dict[str, str] = {}
        self._retry_tasks: set[asyncio.Task[None]] = set()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self._executors.start()
        self._counts.update(await self._store.read(job_sql.count_by_status))
        interrupted = await self._store.read(lambda c: job_sql.with_status(c, ["running"]))
        self._interrupted = {record.id: record.module_id for record in interrupted}
        await self._resume_interrupted()
        pending = await self._store.read(lambda c: job_sql.with_status(c, ["pending"]))
        now = time.time()
        for record in pending:
            if record.retry_at is not None and record.retry_at > now:
                self._wait_for_retry(record.id, record.module_id, record.retry_at)
            else:
                self._queue[record.id] = record.module_id
        self._accepting = True
        self._space_watch.start()
        self._schedule()

    async def _resume_interrupted(self) -> None:
        """Put jobs left `running` by a daemon that went down back in the queue, from their
        last checkpoint; on a disk too full even for that, the space watch tries again."""
        for job_id, module_id in list(self._interrupted.items()):
            try:
                job = await self._requeue(job_id, "INFO", "the daemon stopped while this job ran")
            except InsufficientStorage as exc:
                log.error("job %s: cannot be put back in the queue yet: %s", job_id, exc.detail)
                return
            del self._interrupted[job_id]
            self._queue[job_id] = module_id
            self._move_count(JobStatus.RUNNING, JobStatus.PENDING)
            self._publish(job)

    async def shutdown(self) -> None:
        """Stop taking jobs; let running ones wind down within the grace; keep them for resume."""
        self._accepting = False
        self._shutting_down = True
        self._space_watch.stop()
        for waiting in list(self._retry_tasks):
            waiting.cancel()  # the rows stay `pending` with their retry_at: start() waits again
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
        return await self.reads.resolve(job_id)

    async def get(self, job_id: str) -> Job:
        """The job named by a full id or a unique prefix, as the API shows it."""
        return self._shown(await self.reads.find(job_id))

    async def page(
        self, *, status: str | None, module_id: str | None, before: str | None, limit: int
    ) -> list[Job]:
        """Newest first; `before` names the last job of the previous page."""
        after = await self.get(before) if before else None
        jobs = await self.reads.page(status=status, module_id=module_id, after=after, limit=limit)
        if self._endings.waiting or self._interrupted:
            jobs = [self._overlaid(job) for job in jobs]
        return self._plain_secrets.masked(jobs)

    async def search(
        self,
        where: JobFilter,
        *,
        sort: SortKey = "created",
        order: Order = "desc",
        before: str | None = None,
        limit: int = 100,
    ) -> tuple[list[Job], Job | None]:
        """A page of `GET /jobs`: the jobs `where` admits, by `sort` in `order`; `before` is
        the previous page's `next_cursor` (a job id, or a cursor carrying the sort key).
        Returns the page and the job the next one starts after (None on the last page)."""
        after = None
        if before:
            cursor = search.decode_cursor(before, sort, order)
            after = cursor.key or search.key_of(await self.get(cursor.job_id or before), sort)
        jobs = await self.reads.search(where, sort=sort, order=order, after=after, limit=limit)
        last = jobs[-1] if len(jobs) == limit else None
        if where.q and jobs:  # rows from before sealing hold secrets in clear: never by those
            clear = self._plain_secrets.clear_inputs(jobs)
            if clear:
                jobs = [
                    job
                    for job in jobs
                    if job.id not in clear or search.matches_text(job, where.q, clear[job.id])
                ]
        if self._endings.waiting or self._interrupted:
            jobs = [self._overlaid(job) for job in jobs]
        return self._plain_secrets.masked(jobs), last

    def _shown(self, job: Job) -> Job:
        """The job for showing: secrets masked, what only memory knows applied."""
        return self._plain_secrets.one(self._overlaid(job))

    def _overlaid(self, job: Job) -> Job:
        """What the store says, with what only memory knows yet applied: an end that did not
        fit on the disk, or a requeue waiting for room (the job shows `pending`)."""
        job = self._endings.overlay(job)
        if job.id in self._interrupted:
            job = replace(job, status=JobStatus.PENDING, pid=None)
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

    def queue_depth(self) -> int:
        """Jobs waiting for a run slot now (not those waiting for a retry's backoff)."""
        return len(self._queue)

    def counts(self) -> dict[str, int]:
        return {status.value: self._counts.get(status.value, 0) for status in JobStatus}

    def forget_ended(self, removed: dict[str, int]) -> None:
        """Finished jobs were deleted (`jobs/retention.py`): `removed` counts them by state."""
        self._counts.subtract(removed)

    def disk(self) -> dict[str, Any]:
        """Free space where the database lives, for `/status` (one statvfs)."""
        return self._space.measure().to_api()

    def active_module_ids(self) -> set[str]:
        """Modules with a job pending or running (they must not be uninstalled)."""
        return (
            {a.module_id for a in self._active.values()}
            | set(self._queue.values())
            | set(self._retrying.values())
        )

    def is_active(self, job_id: str) -> bool:
        """Whether the job is queued, waiting for a retry, or holds a slot (from memory)."""
        return (
            job_id in self._active
            or job_id in self._queue
            or job_id in self._retrying
            or job_id in self._interrupted
        )

    # ---- commands --------------------------------------------------------------------------

    async def submit(
        self,
        module_id: str,
        inputs: dict[str, Any] | None,
        settings: dict[str, Any] | None,
        max_duration: str | None,
        executor: str | None = None,
        *,
        retries: int = 0,
        retry_delay: str | None = None,
        schedule_id: str | None = None,
        trigger: JobTrigger = JobTrigger.MANUAL,
        created_by: int | None = None,
    ) -> Job:
        """Validate and queue a new job; returns it as stored (`pending`). A failed attempt
        is tried again up to `retries` times, `retry_delay` (default 30s) after the first
        failure, doubled each attempt up to an hour."""
        if not self._accepting:
            raise Unavailable("the daemon is shutting down and takes no new jobs")
        check_retries(retries, retry_delay)
        installed = self._modules.get(module_id)
        executor_name = self._executors.check(executor)
        # A cluster installs requirements itself (Ray's runtime_env); only local jobs need them here.
        if executor_name == "local" and getattr(installed, "requirements_pending", False):
            raise Conflict(
                f"module {module_id!r} has a requirements.txt that is not installed yet; "
                "install it with POST /modules/reload (sweatpants module reload)"
            )
        manifest = installed.manifest
        if self._stored_settings is not None:  # the module's stored settings, under the job's
            settings = await self._stored_settings.merged(manifest, settings)
        # Secrets are stored sealed: only the job's process sees them (sweatpants/secrets.py).
        clean_inputs, clean_settings = self._secrets.for_new_job(manifest, inputs, settings)
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
            "schedule_id": schedule_id,
            "trigger": trigger.value,
            "max_attempts": 1 + retries,
            "retry_delay": (retry_delay or DEFAULT_RETRY_DELAY) if retries else None,
            "created_by": created_by,
        }
        state = self._space.measure()
        if state.low:
            raise InsufficientStorage(f"not starting a new job: {state.describe()}")
        record = await self._store.write(lambda c: job_sql.insert(c, row), jobs=[job_id])
        job = Job.from_record(record)
        self._counts[JobStatus.PENDING.value] += 1
        self._queue[job_id] = manifest.id
        self._publish(job)
        self._schedule()
        return job

    async def stop(self, job_id: str) -> dict[str, str]:
        """Stop a job: running ones are asked to stop (`stopping`), queued ones end now."""
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
        if full in self._queue or full in self._interrupted or full in self._retrying:
            previous = JobStatus.RUNNING if full in self._interrupted else JobStatus.PENDING
            self._queue.pop(full, None)
            self._interrupted.pop(full, None)
            self._retrying.pop(full, None)  # its waiting task finds it gone
            await self._finish_row(full, JobStatus.STOPPED, previous, error=None)
            return {"id": full, "status": JobStatus.STOPPED.value}
        job = await self.get(full)
        raise Conflict(f"job {full} has already ended ({job.status}); there is nothing to stop")

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
            self._start_task(self._run(active))

    def _start_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` as a task the manager keeps (shutdown waits for, then cancels it)."""
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
        job = await self.reads.job(active.id)
        if job is None:
            return
        active.module_id = job.module_id
        active.next_seq = job.result_count
        active.log_count = job.log_count
        now = time.time()
        deadline = job.deadline_at or (
            now + job.max_seconds if job.max_seconds is not None else None
        )
        if deadline is not None and deadline <= now:
            active.stop_reason = f"max_duration {job.max_duration} reached"
            await self._finish(active, Exit(code=None))
            return
        try:
            installed = self._modules.get(job.module_id)
        except NotFound as exc:
            active.error = exc.detail
            await self._finish(active, Exit(code=None))
            return
        manifest = installed.manifest
        try:
            inputs, settings, active.redact = self._secrets.for_run(manifest, job)
        except ConfigError as exc:
            active.error = exc.detail
            await self._system_log(active.id, "ERROR", f"could not start the job: {exc.detail}")
            await self._finish(active, Exit(code=None))
            return
        spec = protocol.JobSpec(
            job_id=active.id,
            module_id=job.module_id,
            module_dir=str(installed.path),
            entrypoint=str(manifest.entrypoint),
            deps_path=str(installed.deps_path) if installed.deps_path else None,
            inputs=inputs,
            settings=settings,
            checkpoint=job.checkpoint,
            services=dict(self._services),
        )
        try:
            executor = await self._executors.ready(job.executor)
            handle = await executor.launch(spec)
        except LaunchError as exc:
            active.error = exc.detail
            await self._system_log(active.id, "ERROR", f"could not start the job: {exc.detail}")
            await self._finish(active, Exit(code=None))
            return
        active.handle = handle
        # active.started_at is still when the job took its slot (set to its run start below)
        self._metrics.job_start.observe(max(0.0, time.time() - active.started_at))
        if job.deadline_at is None and job.max_seconds is not None:
            # max_duration counts from when the runner started: a cluster may take a while
            # to place a job and build its environment.
            now = time.time()
            deadline = now + job.max_seconds
        active.started_at = job.started_at or now
        record = await self._store.write(
            lambda c: job_sql.mark_running(c, active.id, now=now, pid=handle.pid, node=handle.node),
            jobs=[active.id],
            essential=True,
        )
        self._move_count(JobStatus.PENDING, JobStatus.RUNNING)
        self._publish(Job.from_record(record) if record is not None else None)
        if job.max_attempts > 1:  # the log shows where each attempt began
            await self._system_log(
                active.id, "INFO", f"attempt {job.attempt} of {job.max_attempts} began"
            )
        if deadline is not None:
            loop = asyncio.get_running_loop()
            active.timers.append(
                loop.call_later(max(0.0, deadline - time.time()), self._deadline_reached, active)
            )
        if active.stop_reason is not None:
            self._begin_stop(active)
        storing = asyncio.ensure_future(self._store_output(active, handle))
        # If its output cannot be read (a corrupt stream), the job cannot go on: end it, so
        # the wait below returns and the job is recorded as failed with the reason.
        storing.add_done_callback(
            lambda done: handle.kill() if not done.cancelled() and done.exception() else None
        )
        exit_info = await handle.wait()
        await self._drain(active, storing)
        await self._finish(active, exit_info)

    async def _store_output(self, active: ActiveJob, handle: RunHandle) -> None:
        """Move the runner's messages into the store, a bounded number of writes in flight
        (until the disk is full: then the job is killed and nothing more is read)."""
        in_flight: collections.deque[asyncio.Future[Any]] = collections.deque()
        frames = handle.frames()
        try:
            async for frame in frames:
                active.last_frame_at = time.monotonic()
                counted = (active.next_seq, active.log_count)
                op = active.output_write(frame)
                self._metrics.ingested(active.next_seq - counted[0], active.log_count - counted[1])
                self._publish_progress(active)
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

    async def _drain(self, active: ActiveJob, storing: asyncio.Future[None]) -> None:
        """After the process ended, store what it left in the pipe. Give up only when nothing
        has arrived for DRAIN_IDLE_SECONDS: something the module started holds the pipe open."""
        while not storing.done():
            await asyncio.wait({storing}, timeout=1.0)
            if not storing.done() and time.monotonic() - active.last_frame_at > DRAIN_IDLE_SECONDS:
                storing.cancel()
                await self._system_log(
                    active.id, "WARNING", "the job's output stayed open after its process ended"
                )
                return
        if not storing.cancelled() and storing.exception() is not None:
            raise storing.exception()  # type: ignore[misc]

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
            self._start_task(self._system_log(active.id, "INFO", f"{active.stop_reason}; stopping"))
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
        retryable = status is JobStatus.FAILED and not active.out_of_space
        if retryable and await self._retry(active.id, previous, error or "it failed"):
            return
        await self._finish_row(
            active.id, status, previous, error=error, traceback=traceback, exit_code=exit_info.code
        )

    async def _retry(self, job_id: str, previous: JobStatus, error: str) -> bool:
        """A failed attempt of a job that has retries left goes back to `pending` as its
        next attempt, from its last checkpoint, after its backoff; False when none is left."""
        job = await self.reads.job(job_id)
        if job is None or job.attempt >= job.max_attempts:
            return False
        delay = retry_backoff(job.retry_delay, job.attempt)
        retry_at = time.time() + delay

        def write(conn: Any) -> job_sql.JobRecord | None:
            dropped = job_sql.prepare_retry(conn, job_id, retry_at=retry_at)
            message = (
                f"[sweatpants] attempt {job.attempt} of {job.max_attempts} failed: {error}; "
                f"attempt {job.attempt + 1} starts in {delay:g}s, from its last checkpoint"
                + (f" (dropping {dropped} results recorded after it)" if dropped else "")
            )
            log_sql.append(conn, job_id, [(time.time(), "WARNING", message)])
            job_sql.add_counts(conn, job_id, results=0, logs=1)
            return job_sql.get(conn, job_id)

        record = await self._store.write(write, jobs=[job_id], essential=True)
        self._metrics.ingested(0, 1)
        self._move_count(previous, JobStatus.PENDING)
        self._wait_for_retry(job_id, job.module_id, retry_at)
        self._publish(Job.from_record(record) if record is not None else None)
        return True

    def _wait_for_retry(self, job_id: str, module_id: str, retry_at: float) -> None:
        self._retrying[job_id] = module_id
        task = asyncio.get_running_loop().create_task(self._retry_when_due(job_id, retry_at))
        self._retry_tasks.add(task)
        task.add_done_callback(self._retry_tasks.discard)

    async def _retry_when_due(self, job_id: str, retry_at: float) -> None:
        """Queue the job once the wall clock reaches `retry_at` (checked every second, so a
        machine that slept does not add its sleep to the wait), unless it was stopped."""
        limit = time.monotonic() + MAX_RETRY_DELAY_SECONDS * 2 + 60
        while time.time() < retry_at and time.monotonic() < limit:
            await asyncio.sleep(min(RETRY_CHECK_SECONDS, max(0.0, retry_at - time.time())))
        while job_id in self._active and time.monotonic() < limit:  # its last attempt ends
            await asyncio.sleep(0.05)
        module_id = self._retrying.pop(job_id, None)
        if module_id is None:  # stopped while it waited
            return
        self._queue[job_id] = module_id
        self._schedule()

    async def _resume_lost(self, active: ActiveJob, reason: str) -> None:
        """Put a job whose runner was lost back in the queue, from its last checkpoint."""
        job = await self._requeue(active.id, "WARNING", reason)
        self._move_count(JobStatus.RUNNING, JobStatus.PENDING)
        active.requeue = True
        self._publish(job)

    async def _requeue(self, job_id: str, level: str, reason: str) -> Job | None:
        """In one transaction: the job back to `pending` with the results after its last
        checkpoint deleted, and a log line saying why and how many; returns the job."""

        def write(conn: Any) -> job_sql.JobRecord | None:
            dropped = job_sql.prepare_resume(conn, job_id)
            message = f"[sweatpants] {reason}; resuming from its last checkpoint" + (
                f" (dropping {dropped} results recorded after it)" if dropped else ""
            )
            log_sql.append(conn, job_id, [(time.time(), level, message)])
            job_sql.add_counts(conn, job_id, results=0, logs=1)
            return job_sql.get(conn, job_id)

        record = await self._store.write(write, jobs=[job_id], essential=True)
        self._metrics.ingested(0, 1)
        return Job.from_record(record) if record is not None else None

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
        job = await self._endings.record(
            job_id, status, error=error, traceback=traceback, exit_code=exit_code
        )
        if job is not None and job.started_at is not None and job.completed_at is not None:
            ran = max(0.0, job.completed_at - job.started_at)
            self._metrics.job_duration.labels(status.value).observe(ran)
        self._move_count(previous, status)
        self._publish(job)

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
        else:
            self._metrics.ingested(0, 1)

    def _publish(self, job: Job | None) -> None:
        """A `job` event with the job as the write that changed it returned (no read here)."""
        if job is not None:
            shown = self._plain_secrets.one(self._endings.overlay(job))
            self._events.publish({"type": "job", "job": shown.to_api()})
