"""The store: migrations, one writer committing in groups, failures isolated per operation."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from pathlib import Path

import pytest

from sweatpants.store import Store
from sweatpants.store import logs as log_sql
from sweatpants.store.schema import SCHEMA_VERSION, migrate


def test_migrations_are_idempotent_and_refuse_newer_files(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    assert migrate(conn) == SCHEMA_VERSION
    assert migrate(conn) == SCHEMA_VERSION
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this Sweatpants"):
        migrate(conn)
    conn.close()


def test_queued_writes_share_transactions_and_a_failure_spares_the_rest(tmp_path: Path) -> None:
    commits: list[set[str]] = []
    store = Store(tmp_path / "s.db", on_commit=commits.append)
    assert store.reader().execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    async def scenario() -> None:
        store.open()
        futures = [
            store.writer.submit(
                partial(log_sql.append, job_id=f"job{i % 3}", rows=[(float(i), "INFO", f"m{i}")]),
                jobs=[f"job{i % 3}"],
                wait=True,
            )
            for i in range(500)
        ]

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO logs (job_id, ts, level, message) VALUES ('x', 0, 'I', 'y')")
            raise ValueError("boom")

        failing = store.writer.submit(broken, wait=True)
        for future in futures:
            await asyncio.wrap_future(future)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="boom"):
            await asyncio.wrap_future(failing)  # type: ignore[arg-type]

    asyncio.run(scenario())
    store.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT COUNT(*) FROM logs").fetchone()[0] == 500
    assert conn.execute("SELECT COUNT(*) FROM logs WHERE job_id = 'x'").fetchone()[0] == 0
    conn.close()
    assert len(commits) < 100  # 500 writes, grouped into far fewer transactions
    assert set().union(*commits) == {"job0", "job1", "job2"}
