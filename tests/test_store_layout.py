"""The store's table layout (issue 19): big payloads live in rowid tables, never in an
index-organised one; migration 2 moves `results` there keeping every row; and the queries that
page, tail and delete rows search an index instead of scanning a table."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store.db import connect
from sweatpants.store.schema import MIGRATIONS, SCHEMA_VERSION

BIG = 3 * 1024 * 1024  # a multi-MB result, the size that made issue 19's inserts crawl


def create_version_1(path: Path) -> sqlite3.Connection:
    """A database as Sweatpants 1 left it: the first migration's layout, user_version 1."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    return conn


def fill_results(conn: sqlite3.Connection) -> list[tuple[str, int, float, str]]:
    """Rows of three jobs, one of them a multi-MB result between small ones."""
    rows = [
        (job_id, seq, 1000.0 + seq, f'{{"i": {seq}}}')
        for job_id in ("a", "m", "z")
        for seq in range(1, 501)
    ]
    rows.append(("m", 501, 2000.0, '{"blob": "' + "b" * BIG + '"}'))
    rows += [("m", seq, 3000.0 + seq, f'{{"after": {seq}}}') for seq in range(502, 601)]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO results (job_id, seq, ts, data) VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    return rows


def digest(rows: list[tuple[str, int, float, str]]) -> list[tuple[str, int, float, str]]:
    """The rows with `data` hashed, so a failing comparison prints no megabytes."""
    return sorted((j, s, t, hashlib.sha256(d.encode()).hexdigest()) for j, s, t, d in rows)


def stored(path: Path) -> list[tuple[str, int, float, str]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute("SELECT job_id, seq, ts, data FROM results")]
    finally:
        conn.close()


def test_migration_2_keeps_every_result_in_a_rowid_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "v1.db"
    conn = create_version_1(path)
    rows = fill_results(conn)
    conn.close()

    with caplog.at_level(logging.INFO, logger="sweatpants.store.schema"):
        Store(path).close()  # opening the store migrates the file

    assert f"from schema version 1 to {SCHEMA_VERSION}" in caplog.text

    assert digest(stored(path)) == digest(rows)
    conn = sqlite3.connect(path)
    assert SCHEMA_VERSION >= 2
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    table_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'results'").fetchone()[0]
    assert "WITHOUT ROWID" not in table_sql.upper()
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'results_v2'").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # (job_id, seq) is still a key
        conn.execute("INSERT INTO results (job_id, seq, ts, data) VALUES ('m', 501, 0, '{}')")
    conn.close()


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = create_version_1(path)
    rows = fill_results(conn)
    conn.execute("CREATE TABLE results_v2 (x)")  # makes migration 2's first statement fail
    conn.close()

    with pytest.raises(sqlite3.OperationalError, match="results_v2 already exists"):
        Store(path)

    assert digest(stored(path)) == digest(rows)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    table_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'results'").fetchone()[0]
    assert "WITHOUT ROWID" in table_sql.upper()
    conn.close()


def test_no_table_is_index_organised(tmp_path: Path) -> None:
    """A WITHOUT ROWID table keeps whole rows in its key's b-tree: one row of megabytes there
    slows every insert whose key sorts beside it. Big payloads belong in rowid tables."""
    store = Store(tmp_path / "s.db")
    conn = store.reader()
    tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    assert {name for name, _ in tables} >= {"jobs", "logs", "results"}
    # FTS5 keeps its own small rows (terms and segment ids, its settings) in WITHOUT ROWID
    # shadow tables named after it (`job_fts_idx`, `job_fts_config`): SQLite's, not ours.
    virtual = [name for name, sql in tables if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    shadows = {name for name, _ in tables for v in virtual if name.startswith(f"{v}_")}
    organised = [name for name, sql in tables if "WITHOUT ROWID" in sql.upper()]
    assert [name for name in organised if name not in shadows] == []
    store.close()


def plans(conn: sqlite3.Connection, run: Callable[[sqlite3.Connection], object]) -> list[str]:
    """The query plan of every statement `run` sends (as the store function wrote it)."""
    sent: list[str] = []
    conn.set_trace_callback(sent.append)
    try:
        run(conn)
    finally:
        conn.set_trace_callback(None)
    details = []
    for sql in sent:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        details.append(" | ".join(row[3] for row in plan))
    return details


RESULTS_KEYSET = "SEARCH results USING INDEX results_by_job (job_id=? AND seq>?)"
LOGS_KEYSET = "SEARCH logs USING INDEX logs_by_job (job_id=? AND id>?)"
LOGS_TAIL = "SEARCH logs USING INDEX logs_by_job (job_id=?)"


@pytest.mark.parametrize(
    ("name", "run", "expected"),
    [
        ("results.after", lambda c: result_sql.after(c, "job-m", 10, 100), RESULTS_KEYSET),
        ("jobs.prepare_resume", lambda c: job_sql.prepare_resume(c, "job-m"), RESULTS_KEYSET),
        ("logs.after", lambda c: log_sql.after(c, "job-m", 10, 100), LOGS_KEYSET),
        ("logs.after level", lambda c: log_sql.after(c, "job-m", 10, 100, "INFO"), LOGS_KEYSET),
        ("logs.tail", lambda c: log_sql.tail(c, "job-m", 100), LOGS_TAIL),
        ("logs.tail level", lambda c: log_sql.tail(c, "job-m", 100, "INFO"), LOGS_TAIL),
    ],
)
def test_row_queries_search_the_job_index(
    tmp_path: Path, name: str, run: Callable[[sqlite3.Connection], object], expected: str
) -> None:
    """The keyset page, the tail and the delete after a checkpoint go through (job_id, ...)
    indexes: their cost follows the rows asked for, not the size of the table."""
    Store(tmp_path / "s.db").close()
    conn = connect(tmp_path / "s.db")
    job_sql.insert(
        conn,
        {
            "id": "job-m",
            "module_id": "m",
            "status": "running",
            "inputs": "{}",
            "settings": "{}",
            "max_duration": None,
            "max_seconds": None,
            "created_at": 0.0,
            "executor": "local",
        },
    )
    for job_id in ("job-a", "job-m", "job-z"):
        result_sql.append(conn, job_id, [(seq, 0.0, "{}") for seq in range(1, 201)])
        log_sql.append(conn, job_id, [(0.0, "INFO", "line")] * 200)
    conn.execute("ANALYZE")  # with statistics too, the planner must still pick the index

    details = plans(conn, run)

    table = expected.split()[1]
    touching = [detail for detail in details if f" {table} " in detail]
    assert touching, f"{name} sent no statement on {table}: {details}"
    for detail in touching:
        assert expected in detail, f"{name}: {detail}"
        assert f"SCAN {table}" not in detail, f"{name}: {detail}"
    conn.close()
