"""SQL for finding jobs: `GET /jobs` with `q`, `since`/`until`, `trigger`, `schedule_id` and
a sort by created, duration or results, a keyset page at a time.

What `q` matches besides an id prefix lives in `job_text` (migrations 8 and 10): one narrow
row per job, kept by triggers, holding the job's module id, its error and the values of its
inputs in lower case, each separated by a unit separator (so a search never matches across two
fields). A sealed secret (`{"$sealed": "<token>"}`) is left out of it, so no secret value (nor
its ciphertext) ever matches. `job_fts`, an FTS5 index with the trigram tokenizer over that
text, finds the rows holding a string of 3 characters or more without reading the others;
shorter strings scan the narrow table.

Two plans, chosen by how many jobs the text matches (measured in benchmarks/job_search.py):
- few (up to `FEW` matches): the matching ids come from the index, then those jobs are read
  by key, sorted;
- many: walk `jobs` in the order asked (an index for each sort) and check each row's text by
  key, stopping once the page is full; with this many matches that is soon.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from sweatpants.store.jobs import COLUMNS, JobRecord

SortKey = Literal["created", "duration", "results"]
Order = Literal["desc", "asc"]

FEW = 2000  # at most this many text matches: read them by key (else walk jobs in order)
TRIGRAM = 3  # the shortest text the trigram index finds (shorter: a scan of job_text)

# The sort key of each sort, as an SQL expression over `jobs`. `duration` is the same
# expression as the index `jobs_by_duration`, so the index serves it: a job that has not
# both started and ended counts as -1 (the shortest).
SORT_SQL: dict[str, str] = {
    "created": "created_at",
    "duration": "IFNULL(completed_at - started_at, -1)",
    "results": "result_count",
}


@dataclass(frozen=True)
class JobFilter:
    """What narrows the list; None means no narrowing by that."""

    status: str | None = None
    module_id: str | None = None
    q: str | None = None
    since: float | None = None  # created_at >= since (epoch seconds)
    until: float | None = None  # created_at < until
    trigger: str | None = None
    schedule_id: str | None = None


Key = tuple[float, str]  # (sort key value, id) of the last job of the previous page


def few_matches(conn: sqlite3.Connection, q: str) -> list[str] | None:
    """Ids of the jobs whose text holds `q` (case-insensitive), or None when more than `FEW`
    do: from the trigram index for 3 characters or more (a phrase in quotes: every character
    literal), else by a scan of `job_text`."""
    if len(q) < TRIGRAM:
        rows = conn.execute(
            "SELECT job_id FROM job_text WHERE instr(text, lower(?)) > 0 LIMIT ?", (q, FEW + 1)
        ).fetchall()
        return [row[0] for row in rows] if len(rows) <= FEW else None
    phrase = '"' + q.replace('"', '""') + '"'
    # The index's row ids first, their job ids by key only when few: joining while reading
    # the index took ~2.5x as long (2,001 of 5,000 matches: 25 ms against 10 ms).
    found = conn.execute(
        "SELECT rowid FROM job_fts WHERE job_fts MATCH ? LIMIT ?", (phrase, FEW + 1)
    ).fetchall()
    if len(found) > FEW:
        return None
    if not found:
        return []
    keys = [row[0] for row in found]
    marks = ",".join("?" * len(keys))
    rows = conn.execute(f"SELECT job_id FROM job_text WHERE id IN ({marks})", keys).fetchall()
    return [row[0] for row in rows]


def search(
    conn: sqlite3.Connection,
    where: JobFilter,
    *,
    sort: SortKey = "created",
    order: Order = "desc",
    after: Key | None = None,
    limit: int = 100,
) -> list[JobRecord]:
    """One page of the jobs `where` admits, by `sort` in `order`, after the key `after`."""
    clauses: list[str] = []
    params: list[object] = []
    few = False
    if where.q:
        few = _text_clause(conn, where.q, clauses, params)
    # With few text matches the jobs are read by key: `+column` keeps SQLite from choosing an
    # index on another column instead (it would then test every row it walks against the
    # list; measured 0.4 ms against 196 ms for `status=failed` with 143 matches of 100,000).
    plus = "+" if few else ""
    for column, value in (
        ("status", where.status),
        ("module_id", where.module_id),
        ("trigger", where.trigger),
        ("schedule_id", where.schedule_id),
    ):
        if value:
            clauses.append(f"{plus}{column} = ?")
            params.append(value)
    if where.since is not None:
        clauses.append(f"{plus}created_at >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append(f"{plus}created_at < ?")
        params.append(where.until)
    key = SORT_SQL[sort]
    direction, compare = ("DESC", "<") if order == "desc" else ("ASC", ">")
    if after is not None:
        clauses.append(f"({plus}{key} {compare} ? OR ({plus}{key} = ? AND {plus}id {compare} ?))")
        params.extend([after[0], after[0], after[1]])
    where_sql = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT {COLUMNS} FROM jobs {where_sql} ORDER BY {key} {direction}, id {direction} LIMIT ?"
    )
    cursor = conn.cursor()
    cursor.row_factory = None
    return [JobRecord._make(row) for row in cursor.execute(sql, [*params, limit]).fetchall()]


def _text_clause(
    conn: sqlite3.Connection, q: str, clauses: list[str], params: list[object]
) -> bool:
    """`q` as a condition (an id starting with it, or text holding it) added to `clauses`;
    True when few jobs match and the plan reads them by key (see the module's docstring)."""
    # An id prefix by a range on the key, so `%` and `_` in `q` are plain characters.
    params.extend([q, q + "\U0010ffff"])
    prefix = "(id >= ? AND id < ?)"
    found = few_matches(conn, q)
    if found is not None:
        # The ids as a list of values (one temporary b-tree), not a subquery over json_each,
        # which SQLite may read again for every row it tests.
        marks = ",".join("?" * len(found))
        params.extend(found)
        clauses.append(f"({prefix} OR id IN ({marks}))" if found else prefix)
        return True
    params.append(q)
    clauses.append(
        f"({prefix} OR EXISTS (SELECT 1 FROM job_text WHERE job_text.job_id = jobs.id "
        "AND instr(job_text.text, lower(?)) > 0))"
    )
    return False
