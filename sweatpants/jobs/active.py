"""A job holding a run slot, and how the runner's messages become writes to the store.

The scheduler keeps one `ActiveJob` per job being launched, running or winding down. Each
frame the runner sends (see `protocol.py`) is folded into it by `output_write`, which returns
the one write operation that stores the frame: its log lines, results, checkpoint and
progress, with the job's counters, in one savepoint of the writer's next transaction.
Here, before anything is stored or streamed, a job that has secrets has them replaced by
`********` in its log lines, its error and its traceback (`redact`; results stay as yielded).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from sweatpants.jobs import protocol
from sweatpants.jobs.executor import RunHandle
from sweatpants.secrets import Redactor
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store.db import WriteOp


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
    # Replaces the job's secret values in what it prints; None when it has none (no cost).
    redact: Redactor | None = None

    def output_write(self, frame: list[list[Any]]) -> WriteOp:
        """Take in one frame from the runner; return the write that stores it."""
        logs: list[log_sql.LogRow] = []
        results: list[result_sql.ResultRow] = []
        checkpoint: tuple[str, int] | None = None
        progress: tuple[float, float | None] | None = None
        failed = False
        for message in frame:
            kind = message[0]
            if kind == protocol.RESULT:
                self.next_seq += 1
                results.append((self.next_seq, message[1], message[2]))
            elif kind == protocol.LOG:
                logs.append((message[1], str(message[2]).upper(), str(message[3])))
            elif kind == protocol.CHECKPOINT:
                checkpoint = (message[1], self.next_seq)
            elif kind == protocol.PROGRESS:
                progress = (message[1], message[2])
            elif kind == protocol.DONE:
                self.done = True
            elif kind == protocol.ERROR:
                self.error, self.traceback = message[1], message[2]
                failed = True
                logs.append((time.time(), "ERROR", f"job failed: {message[1]}"))
        if self.redact is not None:
            logs = self._redacted(logs, failed)
        if progress is not None:
            self.progress = {"done": progress[0], "total": progress[1]}
        self.log_count += len(logs)
        job_id = self.id

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

    def _redacted(self, logs: list[log_sql.LogRow], failed: bool) -> list[log_sql.LogRow]:
        """The frame's log lines (and the error and traceback it brought) with the job's
        secrets masked."""
        redact = self.redact
        assert redact is not None
        if failed and self.error is not None:
            self.error = redact(str(self.error))
            self.traceback = None if self.traceback is None else redact(str(self.traceback))
        if not logs:
            return logs
        texts = redact.lines([row[2] for row in logs])
        if texts is None:
            return logs
        return [(row[0], row[1], text) for row, text in zip(logs, texts, strict=True)]
