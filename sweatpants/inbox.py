"""The callbacks inbox: what outside agents report back (`/callbacks`), and jobs waiting for it.

The earlier engine's orchestration inbox: an agent given work by a job POSTs its result as
`{callback_id?, source?, status?, payload?}`; clients list, read and delete what arrived.
A job can wait for the callback carrying a `callback_id` (`Module.wait_for_callback`): its
process opens `WS /callbacks/wait`, which answers at once when one is stored and otherwise
when one arrives (a WebSocket, not a long poll: a stopping daemon closes it at once). Waiters live in this object (one per engine), never in a global; the
stored callback is the truth, so a job that resumes after a restart asks again and gets it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sweatpants.errors import Ambiguous, InvalidInput, NotFound
from sweatpants.jobs.models import iso
from sweatpants.store import Store
from sweatpants.store import callbacks as callback_sql
from sweatpants.store.callbacks import CallbackRecord

NOT_FOUND = "Callback not found"  # the earlier engine's words, kept for its clients
MIN_PREFIX = 8  # the shortest id prefix that may name a callback (as for jobs)
MAX_PAGE = 1_000  # callbacks per answer of GET /callbacks


@dataclass(frozen=True)
class Callback:
    """One received callback, as `/callbacks` shows it."""

    id: str
    callback_id: str | None
    source: str | None
    status: str | None
    payload: dict[str, Any]
    received_at: float

    @classmethod
    def from_record(cls, record: CallbackRecord) -> Callback:
        payload = json.loads(record.payload)
        return cls(
            record.id,
            record.callback_id,
            record.source,
            record.status,
            payload if isinstance(payload, dict) else {},
            record.received_at,
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "callback_id": self.callback_id,
            "source": self.source,
            "status": self.status,
            "payload": self.payload,
            "received_at": iso(self.received_at),
        }


class CallbackInbox:
    """Receive, list, find, delete and prune callbacks; wake the jobs waiting for one."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiters: defaultdict[str, set[asyncio.Future[Callback]]] = defaultdict(set)

    async def receive(
        self,
        *,
        callback_id: str | None,
        source: str | None,
        status: str | None,
        payload: Any,
    ) -> Callback:
        """Store one callback (payload `{}` when none) and hand it to whoever waits for it."""
        if payload is not None and not isinstance(payload, dict):
            raise InvalidInput(
                f"payload must be a JSON object (or left out), not {_json_type(payload)}; "
                "nothing was stored",
                field="payload",
            )
        record = CallbackRecord(
            str(uuid.uuid4()),
            callback_id,
            source,
            status,
            json.dumps(payload or {}, separators=(",", ":"), ensure_ascii=False),
            time.time(),
        )
        await self._store.write(lambda conn: callback_sql.insert(conn, record))
        callback = Callback.from_record(record)
        if callback_id is not None:
            for waiter in self._waiters.pop(callback_id, set()):
                if not waiter.done():
                    waiter.set_result(callback)
        return callback

    async def page(
        self,
        *,
        source: str | None = None,
        callback_id: str | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[Callback]:
        """Newest first; `before` names the last callback of the previous page."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1", field="limit")
        after = await self.find(before, field="before") if before else None
        records = await self._store.read(
            lambda conn: callback_sql.page(
                conn,
                source=source,
                callback_id=callback_id,
                before=after.id if after else None,
                limit=min(limit, MAX_PAGE),
            )
        )
        return [Callback.from_record(record) for record in records]

    async def find(self, callback_id: str, *, field: str | None = None) -> Callback:
        """The callback named by a full id or a unique prefix of at least 8 characters."""
        record = await self._store.read(lambda conn: callback_sql.get(conn, callback_id))
        if record is None:
            full = await self._by_prefix(callback_id, field)
            record = await self._store.read(lambda conn: callback_sql.get(conn, full))
        if record is None:  # deleted between the two reads
            raise NotFound(NOT_FOUND, field=field)
        return Callback.from_record(record)

    async def delete(self, callback_id: str) -> str:
        """Remove the callback named by a full id or unique prefix; returns its full id."""
        full = (await self.find(callback_id)).id
        if not await self._store.write(lambda conn: callback_sql.delete(conn, full)):
            raise NotFound(NOT_FOUND)
        return full

    async def delete_older_than(self, cutoff: float, batch: int = 5000) -> int:
        """Remove the callbacks received before `cutoff` (epoch seconds), `batch` rows per
        write so the writer never holds its transaction long; returns how many went."""
        removed = 0
        while True:
            count = await self._store.write(
                lambda conn: callback_sql.delete_older_than(conn, cutoff, batch)
            )
            removed += count
            if count < batch:
                return removed

    async def wait(self, callback_id: str, timeout: float | None = None) -> Callback | None:
        """The newest callback carrying `callback_id`, waiting up to `timeout` seconds (None:
        for ever) for one to arrive if none is stored; None when the time runs out."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Callback] = loop.create_future()
        self._waiters[callback_id].add(waiter)  # before the read: one arriving meanwhile counts
        try:
            stored = await self._store.read(lambda conn: callback_sql.latest(conn, callback_id))
            if stored is not None:
                return Callback.from_record(stored)
            if timeout is None:
                return await waiter
            try:
                return await asyncio.wait_for(asyncio.shield(waiter), timeout)
            except TimeoutError:
                return None
        finally:
            waiting = self._waiters.get(callback_id)
            if waiting is not None:
                waiting.discard(waiter)
                if not waiting:
                    del self._waiters[callback_id]
            waiter.cancel()

    async def _by_prefix(self, prefix: str, field: str | None) -> str:
        if len(prefix) < MIN_PREFIX:
            raise NotFound(NOT_FOUND, field=field)
        matches = await self._store.read(lambda conn: callback_sql.ids_with_prefix(conn, prefix))
        if not matches:
            raise NotFound(NOT_FOUND, field=field)
        if len(matches) > 1:
            raise Ambiguous(
                f"callback id prefix {prefix!r} matches {len(matches)} callbacks: "
                f"{', '.join(matches)}",
                matches=matches,
            )
        return matches[0]


def _json_type(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else f"a {type(value).__name__}"
