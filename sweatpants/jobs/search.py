"""What `GET /jobs` is asked, checked: times (`since`/`until`) and the page cursor.

A time is an ISO date (`2026-03-01`), an ISO date and time (`2026-03-01T10:30:00Z`; without a
zone it is UTC) or a duration back from now (`2d`, `12h`, `1h30m`). Anything else is a 422
naming the field.

A page of the default order (newest first) ends with the last job's id as `next_cursor`, as
it always has. Any other sort or order ends with a cursor that carries the sort key itself
(`k1:<sort>:<order>:<key>:<id>`), so the next page needs no read to find where to go on and
keeps its place even if that job was deleted; a plain id is still accepted as `before` for
every sort (the job's own key is then read).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, get_args

from sweatpants.errors import InvalidInput
from sweatpants.jobs.models import Job, parse_duration
from sweatpants.secrets import is_sealed
from sweatpants.store.job_search import JobFilter, Key, Order, SortKey

__all__ = [
    "Cursor",
    "JobFilter",
    "Order",
    "SortKey",
    "decode_cursor",
    "encode_cursor",
    "key_of",
    "matches_text",
    "parse_time",
]

SORTS: tuple[str, ...] = get_args(SortKey)
ORDERS: tuple[str, ...] = get_args(Order)
CURSOR_PREFIX = "k1"
_RELATIVE = re.compile(r"^\s*\d")
MAX_ERROR = 2000  # characters of the error that job_text holds (migration 8)


def parse_time(text: str, field: str, now: float) -> float:
    """`since`/`until` as epoch seconds (see the module's docstring)."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(f"{field} is empty; give a date like 2026-03-01 or 2d", field=field)
    try:
        return _absolute(cleaned)
    except ValueError:
        pass
    if _RELATIVE.match(cleaned):
        try:
            return now - parse_duration(cleaned, field=field)
        except InvalidInput:
            pass
    raise InvalidInput(
        f"{field} {text!r} is not a date; give an ISO date (2026-03-01), a date and time "
        "(2026-03-01T10:30:00Z) or a time back from now (30m, 12h, 2d, 1w)",
        field=field,
    )


def _absolute(text: str) -> float:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: a job id (to be looked up) or a key carried in the cursor."""

    job_id: str | None = None
    key: Key | None = None


def encode_cursor(sort: SortKey, order: Order, key: Key) -> str:
    """The `next_cursor` of a page in an order other than the default."""
    return f"{CURSOR_PREFIX}:{sort}:{order}:{key[0]!r}:{key[1]}"


def decode_cursor(text: str, sort: SortKey, order: Order) -> Cursor:
    """`before` as given: a cursor of this sort and order, or a job id (or unique prefix)."""
    if not text.startswith(CURSOR_PREFIX + ":"):
        return Cursor(job_id=text)
    parts = text.split(":", 4)
    problem = None
    if len(parts) != 5:
        problem = "is not a cursor this daemon gave"
    elif (parts[1], parts[2]) != (sort, order):
        problem = (
            f"is a cursor of sort={parts[1]}&order={parts[2]}; ask with the same sort and "
            "order as the page it came from"
        )
    else:
        try:
            return Cursor(key=(float(parts[3]), parts[4]))
        except ValueError:
            problem = "is not a cursor this daemon gave"
    raise InvalidInput(f"before {text!r} {problem}", field="before")


def key_of(job: Job, sort: SortKey) -> Key:
    """The (sort key, id) of `job`, as `store.job_search.SORT_SQL` computes the key."""
    if sort == "created":
        return (job.created_at, job.id)
    if sort == "results":
        return (float(job.result_count), job.id)
    if job.completed_at is None or job.started_at is None:
        return (-1.0, job.id)
    return (job.completed_at - job.started_at, job.id)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _atoms(value: Any) -> Iterator[str]:
    """The leaf values of an input as `job_text` holds them (sealed values left out)."""
    if is_sealed(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _atoms(item)
    elif isinstance(value, list):
        for item in value:
            yield from _atoms(item)
    elif isinstance(value, bool):
        yield "1" if value else "0"
    elif value is not None:
        yield str(value)


def matches_text(job: Job, q: str, hidden: frozenset[str]) -> bool:
    """Whether `q` finds `job` without the inputs named in `hidden`: what `GET /jobs?q=`
    matches (an id prefix; the module id, the error's first `MAX_ERROR` characters or an input
    value, lower-cased as SQLite's `lower` does, ASCII only), for rows from before secrets
    were sealed, whose secret values `job_text` holds in clear."""
    if job.id.startswith(q):
        return True
    wanted = q.translate(_ASCII_LOWER)
    texts = [job.module_id, (job.error or "")[:MAX_ERROR]]
    texts += [
        atom for key, value in job.inputs.items() if key not in hidden for atom in _atoms(value)
    ]
    return any(wanted in text.translate(_ASCII_LOWER) for text in texts)
