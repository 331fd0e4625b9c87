"""Live notifications inside the daemon.

`EventBus` fans job events (state changes, progress) out to `/events` subscribers; a slow
subscriber loses nothing that matters because each job event carries the whole job, and a
subscriber whose queue overflows is dropped (it reconnects and refetches). `CommitSignal` wakes
log streams when the writer has committed new rows for a job; streams then read the rows
from the database themselves, so a slow reader never makes the daemon buffer its backlog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

SUBSCRIBER_QUEUE = 1000


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._subscribers.discard(queue)
                self._close(queue)  # the stream sees None and closes; the client refetches

    def close(self) -> None:
        for queue in list(self._subscribers):
            self._close(queue)
        self._subscribers.clear()

    @staticmethod
    def _close(queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        queue.put_nowait(None)


class CommitSignal:
    """Per-job wake-ups after the writer commits rows for that job."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def waiter(self, job_id: str) -> asyncio.Event:
        """Take this before reading; it is set by the next commit touching `job_id`."""
        event = self._events.get(job_id)
        if event is None or event.is_set():
            event = asyncio.Event()
            self._events[job_id] = event
        return event

    def committed(self, job_ids: Iterable[str]) -> None:
        """Called from the writer thread."""
        if self._loop is not None and not self._loop.is_closed():
            ids = list(job_ids)
            self._loop.call_soon_threadsafe(self._wake, ids)

    def _wake(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            event = self._events.pop(job_id, None)
            if event is not None:
                event.set()
