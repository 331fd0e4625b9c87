"""Reads of jobs, their logs and their results, shaped as the API shows them.

The API's routes read through here (via `engine.jobs`), never through `sweatpants.store`:
each method is one short query on a reader connection, and what comes back is a typed
`Job` or the JSON-ready entry of a page. Pages are keyset pages; exports stream in chunks,
each its own query, so nothing loads a whole job's output at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sweatpants.errors import Ambiguous, NotFound
from sweatpants.jobs import export
from sweatpants.jobs.models import Job, JobStatus, iso
from sweatpants.store import Store
from sweatpants.store import job_search as search_sql
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store import stats as stats_sql
from sweatpants.store import timeline as timeline_sql

MIN_PREFIX = 8  # the shortest id prefix that may name a job
EXPORT_CHUNK = 2000  # results per query of an export


def log_entry(line: log_sql.LogLine) -> dict[str, Any]:
    """A log line as `GET /jobs/{id}/logs` and the log stream show it."""
    return {"id": line[0], "timestamp": iso(line[1]), "level": line[2], "message": line[3]}


def result_entry(row: result_sql.ResultRow) -> dict[str, Any]:
    """A result as `GET /jobs/{id}/results` shows it."""
    return {"seq": row[0], "data": json.loads(row[2]), "created_at": iso(row[1])}


class JobReads:
    """Read-only questions about jobs, answered from the database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def job(self, job_id: str) -> Job | None:
        """The job with exactly this id, as stored."""
        record = await self._store.read(lambda c: job_sql.get(c, job_id))
        return Job.from_record(record) if record is not None else None

    async def resolve(self, job_id: str) -> str:
        """A full id from a full id or a unique prefix of at least 8 characters."""
        if await self._store.read(lambda c: job_sql.exists(c, job_id)):
            return job_id
        return await self._by_prefix(job_id)

    async def find(self, job_id: str) -> Job:
        """The job named by a full id or a unique prefix (one read when the id is full)."""
        job = await self.job(job_id)
        if job is None:
            job = await self.job(await self._by_prefix(job_id))
        if job is None:  # deleted between the two reads
            raise NotFound(f"no job with id {job_id!r}")
        return job

    async def _by_prefix(self, prefix: str) -> str:
        if len(prefix) < MIN_PREFIX:
            raise NotFound(
                f"no job with id {prefix!r} (give the full id or at least {MIN_PREFIX} characters)"
            )
        matches = await self._store.read(lambda c: job_sql.ids_with_prefix(c, prefix))
        if not matches:
            raise NotFound(f"no job with id {prefix!r}")
        if len(matches) > 1:
            raise Ambiguous(
                f"job id prefix {prefix!r} matches {len(matches)} jobs: {', '.join(matches)}",
                matches=matches,
            )
        return matches[0]

    async def page(
        self, *, status: str | None, module_id: str | None, after: Job | None, limit: int
    ) -> list[Job]:
        """Newest first, the page after the job `after` (the last of the previous page)."""
        before = (after.created_at, after.id) if after is not None else None
        records = await self._store.read(
            lambda c: job_sql.page(
                c, status=status, module_id=module_id, before=before, limit=limit
            )
        )
        return [Job.from_record(record) for record in records]

    async def search(
        self,
        where: search_sql.JobFilter,
        *,
        sort: search_sql.SortKey,
        order: search_sql.Order,
        after: search_sql.Key | None,
        limit: int,
    ) -> list[Job]:
        """A page of the jobs `where` admits, by `sort` in `order`, after the key `after`."""
        records = await self._store.read(
            lambda c: search_sql.search(c, where, sort=sort, order=order, after=after, limit=limit)
        )
        return [Job.from_record(record) for record in records]

    async def counts_by_module(self) -> list[tuple[str, str, int]]:
        """(module_id, status, count) of every pair that has jobs."""
        return await self._store.read(job_sql.count_by_module_status)

    async def state(self, job_id: str) -> tuple[JobStatus, str | None] | None:
        """(status, error) as stored, or None if there is no such job."""
        found = await self._store.read(lambda c: job_sql.state(c, job_id))
        return (JobStatus(found[0]), found[1]) if found is not None else None

    async def timeline(self, job: Job, buckets: int, now: float) -> dict[str, Any]:
        """Results and log lines per bucket of the job's life (from its start, or creation if
        it never started, to its end, or `now` while it is not over), the rates they make and
        the progress at each bucket's end (the last sampled so far; None before the first)."""
        start = job.started_at if job.started_at is not None else job.created_at
        end = job.completed_at if job.completed_at is not None else max(now, start)
        cut = timeline_sql.plan(start, end, buckets)
        found = await self._store.read(lambda c: timeline_sql.buckets(c, job.id, cut))
        return timeline_answer(job, cut, found, start, end)

    async def job_stats(self, days: int, now: float, top: int = 10) -> dict[str, Any]:
        """Jobs created in the last `days` local days (today included): per day and status,
        and the `top` modules with the most of them."""
        first = datetime.fromtimestamp(now).date() - timedelta(days=days - 1)
        since = datetime.combine(first, datetime.min.time()).timestamp()  # local midnight

        def read(conn: Any) -> tuple[list[stats_sql.DayCount], list[stats_sql.ModuleCount]]:
            return (
                stats_sql.per_day(conn, since),
                stats_sql.busiest_modules(conn, since, now, top),
            )

        counted, modules = await self._store.read(read)
        days_seen: dict[str, dict[str, int]] = {
            (first + timedelta(days=n)).isoformat(): {s.value: 0 for s in JobStatus}
            for n in range(days)
        }
        for day, status, jobs in counted:
            days_seen.setdefault(day, {s.value: 0 for s in JobStatus})[status] = jobs
        return {
            "days": days,
            "since": iso(since),
            "per_day": [{"date": day, **counts} for day, counts in days_seen.items()],
            "modules": [
                {
                    "module_id": m[0],
                    "jobs": m[1],
                    "failed": m[2],
                    "results": m[3],
                    "run_seconds": round(m[4], 3),
                }
                for m in modules
            ],
        }

    async def log_tail(
        self, job_id: str, limit: int, level: str | None, page: int | None = None
    ) -> list[dict[str, Any]]:
        """The newest `limit` entries (of `level`, if given), oldest first; when `page` is
        smaller than `limit`, only the first `page` of them (the rest follow by `after`)."""
        if page is None or page >= limit:
            lines = await self._store.read(lambda c: log_sql.tail(c, job_id, limit, level))
        else:
            lines = await self._store.read(
                lambda c: log_sql.tail_page(c, job_id, limit, page, level)
            )
        return [log_entry(line) for line in lines]

    async def logs_after(
        self, job_id: str, after: int, limit: int, level: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries with an id greater than `after` (of `level`, if given), oldest first."""
        lines = await self._store.read(lambda c: log_sql.after(c, job_id, after, limit, level))
        return [log_entry(line) for line in lines]

    async def results_after(
        self, job_id: str, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Results with a seq greater than `after`, and how many the job has in all."""

        def read(conn: Any) -> tuple[list[result_sql.ResultRow], int]:
            return result_sql.after(conn, job_id, after, limit), job_sql.result_count(conn, job_id)

        rows, total = await self._store.read(read)
        return [result_entry(row) for row in rows], total

    def result_chunks(self, job_id: str) -> Iterator[list[result_sql.ResultRow]]:
        """Every result in order, a chunk per query, on whichever thread asks for the next
        (a streaming response reads each in a worker thread: use its own reader)."""
        last = 0
        while True:
            rows = result_sql.after(self._store.reader(), job_id, last, EXPORT_CHUNK)
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def export_ndjson(self, job_id: str) -> Iterator[bytes]:
        return export.ndjson_lines(self.result_chunks(job_id))

    def export_csv(self, job_id: str) -> Iterator[bytes]:
        return export.csv_lines(lambda: self.result_chunks(job_id))


def timeline_answer(
    job: Job, cut: timeline_sql.Plan, found: list[timeline_sql.Bucket], start: float, end: float
) -> dict[str, Any]:
    """`GET /jobs/{id}/timeline`'s answer: one column per series, a value per bucket."""
    by_index = {row[0]: row for row in found}
    times: list[int] = []
    results: list[int] = []
    logs: list[int] = []
    results_rate: list[float] = []
    logs_rate: list[float] = []
    done: list[float | None] = []
    total: list[float | None] = []
    progress: tuple[float | None, float | None] = (None, None)
    for index in range(cut.n_buckets):
        begin = cut.start + index * cut.width
        row = by_index.get(index)
        counted = (row[1], row[2]) if row is not None else (0, 0)
        if row is not None and row[3] is not None:
            progress = (row[3], row[4])
        # The first and last buckets may be partly outside the job's life: rate over the rest.
        seconds = max(1.0, min(begin + cut.width, end) - max(float(begin), start))
        times.append(begin)
        results.append(counted[0])
        logs.append(counted[1])
        results_rate.append(round(counted[0] / seconds, 3))
        logs_rate.append(round(counted[1] / seconds, 3))
        done.append(progress[0])
        total.append(progress[1])
    return {
        "id": job.id,
        "status": job.status.value,
        "start": iso(cut.start),
        "end": iso(end),
        "bucket_seconds": cut.width,
        "time": times,
        "results": results,
        "logs": logs,
        "results_per_second": results_rate,
        "logs_per_second": logs_rate,
        "progress_done": done,
        "progress_total": total,
    }
