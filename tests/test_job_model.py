"""The one typed `Job`: built from the store, returned by the write that changed it, published
without reading it again, documented in /openapi.json; and the API reaches jobs, logs and
results through the engine only, never through `sweatpants.store`.

In-process: a real SQLite file, a real engine running a real job process for the publishing
test, the app over httpx's ASGI transport for the schema.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import TypeAdapter

from sweatpants.api import schemas
from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.engine import Engine
from sweatpants.jobs.models import Job, JobStatus, Progress, iso
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "sweatpants" / "api"
T = TypeVar("T")

ROW = {
    "id": "job-1",
    "module_id": "hello",
    "status": "pending",
    "inputs": json.dumps({"name": "you", "count": 3}),
    "settings": "{}",
    "max_duration": "2h",
    "max_seconds": 7200.0,
    "created_at": 1_700_000_000.25,
    "executor": "local",
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, `from a import b` counted as both `a` and `a.b`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_api_never_imports_the_store() -> None:
    files = sorted(API.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        found = imported_modules(path)
        store = {n for n in found if n == "sweatpants.store" or n.startswith("sweatpants.store.")}
        assert not store, f"{path.relative_to(ROOT)} imports {store}: ask the engine instead"
        assert "sqlite3" not in found, f"{path.relative_to(ROOT)} imports sqlite3"


def test_store_reads_and_writes_hand_back_plain_values(tmp_path: Path) -> None:
    """No `sqlite3.Row` leaves the store: job reads and writes give `JobRecord`s (from the
    statement itself, `RETURNING`), log and result reads give tuples."""
    store = Store(tmp_path / "s.db")
    conn = store.reader()
    conn.execute("BEGIN IMMEDIATE")
    inserted = job_sql.insert(conn, ROW)
    log_sql.append(conn, "job-1", [(1.0, "INFO", "hi"), (2.0, "ERROR", "oh")])
    result_sql.append(conn, "job-1", [(1, 1.5, '{"a": 1}'), (2, 2.5, '{"a": 2}')])
    job_sql.add_counts(conn, "job-1", results=2, logs=2)
    job_sql.save_checkpoint(conn, "job-1", '{"next": 1}', 1)
    running = job_sql.mark_running(conn, "job-1", now=10.0, pid=123, node="local")
    dropped = job_sql.prepare_resume(conn, "job-1")
    finished = job_sql.finish(
        conn, "job-1", status="failed", now=20.0, error="e", traceback=None, exit_code=1
    )
    conn.execute("COMMIT")
    assert type(inserted) is job_sql.JobRecord and inserted.status == "pending"
    assert inserted.created_at == ROW["created_at"] and inserted.result_count == 0
    assert running is not None and (running.status, running.pid, running.started_at) == (
        "running",
        123,
        10.0,
    )
    assert running.deadline_at == 10.0 + 7200.0 and running.log_count == 2
    assert dropped == 1  # result 2 came after the checkpoint
    assert finished is not None and (finished.status, finished.resumes) == ("failed", 1)
    assert finished.result_count == 1 and finished.pid is None
    assert job_sql.get(conn, "job-1") == finished
    assert job_sql.page(conn, status=None, module_id=None, before=None, limit=5) == [finished]
    assert job_sql.with_status(conn, ["failed"]) == [finished]
    assert job_sql.state(conn, "job-1") == ("failed", "e")
    assert job_sql.get(conn, "nope") is None and job_sql.state(conn, "nope") is None
    assert log_sql.after(conn, "job-1", 0, 10) == [(1, 1.0, "INFO", "hi"), (2, 2.0, "ERROR", "oh")]
    assert log_sql.tail(conn, "job-1", 1, "INFO") == [(1, 1.0, "INFO", "hi")]
    assert result_sql.after(conn, "job-1", 0, 10) == [(1, 1.5, '{"a": 1}')]
    for value in (
        inserted,
        *log_sql.after(conn, "job-1", 0, 10),
        *result_sql.after(conn, "job-1", 0, 10),
    ):
        assert not isinstance(value, sqlite3.Row) and isinstance(value, tuple)
    store.close()


def test_job_to_api_is_exactly_the_documented_shape(tmp_path: Path) -> None:
    """`Job.to_api()` has every key `schemas.Job` declares, in its order, with values the
    model keeps as they are (so a validated answer is the same bytes as an unvalidated one)."""
    store = Store(tmp_path / "s.db")
    conn = store.reader()
    job_sql.insert(conn, ROW)
    job_sql.save_progress(conn, "job-1", 2, 3)
    job_sql.save_checkpoint(conn, "job-1", '{"next": 2}', 0)
    record = job_sql.mark_running(conn, "job-1", now=1_700_000_001.5, pid=7, node="local")
    assert record is not None
    job = Job.from_record(record)
    assert job.status is JobStatus.RUNNING and job.inputs == {"name": "you", "count": 3}
    api = job.to_api()
    assert list(api) == list(schemas.Job.__annotations__)
    assert api["module"] == api["module_id"] == "hello"
    assert api["created_at"] == "2023-11-14T22:13:20.250Z"
    assert api["started_at"] == "2023-11-14T22:13:21.500Z" and api["completed_at"] is None
    assert api["progress"] == {"done": 2.0, "total": 3.0}
    assert api["checkpoint"] == {"next": 2} and api["status"] == "running"
    adapter = TypeAdapter(schemas.Job)
    assert adapter.dump_python(adapter.validate_python(api), mode="json") == api
    store.close()


def test_every_job_field_comes_from_its_column() -> None:
    """`Job.from_record` passes its arguments by position (for speed): each field must still
    get its own column. Every column holds a different value here, so a swap shows."""
    record = job_sql.JobRecord(
        id="job-9",
        module_id="mod",
        status="failed",
        inputs='{"i": 1}',
        settings='{"s": 2}',
        max_duration="3h",
        max_seconds=10800.0,
        created_at=1.0,
        started_at=2.0,
        completed_at=3.0,
        deadline_at=4.0,
        error="err",
        traceback="tb",
        exit_code=5,
        checkpoint='{"c": 3}',
        checkpoint_seq=6,
        progress_done=7.0,
        progress_total=8.0,
        result_count=9,
        log_count=10,
        resumes=11,
        pid=12,
        executor="ray",
        node="node-1",
        schedule_id="sched-1",
        trigger="catch_up",
        attempt=13,
        max_attempts=14,
        retry_at=15.0,
        retry_delay="16s",
    )
    job = Job.from_record(record)
    converted = {
        "status": JobStatus.FAILED,
        "inputs": {"i": 1},
        "settings": {"s": 2},
        "checkpoint": {"c": 3},
        "progress": Progress(7.0, 8.0),
    }
    for field in dataclasses.fields(Job):
        expected = converted.get(field.name, getattr(record, field.name, None))
        assert getattr(job, field.name) == expected, field.name
    assert set(converted) | set(record._fields) - {"progress_done", "progress_total"} == {
        field.name for field in dataclasses.fields(Job)
    }


def test_iso_writes_what_strftime_wrote() -> None:
    """`iso` formats from the datetime's fields (faster); the text is what it always was."""
    chosen = random.Random(11)
    stamps = [chosen.uniform(0, 4e9) for _ in range(20_000)]
    stamps += [0.0, 1.0, 1_700_000_000.9995, 1_700_000_000.0005, 1_700_000_000.9999996]
    for ts in stamps:
        before = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        assert iso(ts) == before, ts
    assert iso(None) is None


def openapi(tmp_path: Path) -> dict[str, Any]:
    app = create_app(Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path / "data")}))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8420") as c:
            return await c.get("/openapi.json")

    answer = asyncio.run(fetch())
    assert answer.status_code == 200
    spec: dict[str, Any] = answer.json()
    return spec


def test_openapi_has_a_typed_job(tmp_path: Path) -> None:
    spec = openapi(tmp_path)
    models = spec["components"]["schemas"]

    def answer(method: str, path: str) -> Any:
        responses = spec["paths"][path][method]["responses"]
        return responses["200"]["content"]["application/json"]["schema"]

    assert answer("get", "/jobs") == {"$ref": "#/components/schemas/JobPage"}
    assert answer("get", "/jobs/{job_id}") == {"$ref": "#/components/schemas/Job"}
    assert answer("post", "/jobs") == {"$ref": "#/components/schemas/JobSubmitted"}
    assert answer("post", "/jobs/{job_id}/stop") == {"$ref": "#/components/schemas/JobStopped"}

    job = models["Job"]
    props = job["properties"]
    assert list(props) == list(schemas.Job.__annotations__)
    assert set(job["required"]) == set(props)
    assert props["status"] == {"$ref": "#/components/schemas/JobStatus"}
    assert models["JobStatus"]["enum"] == [s.value for s in JobStatus]
    assert props["id"]["type"] == "string" and props["module_id"]["type"] == "string"
    assert props["created_at"]["type"] == "string"
    assert props["inputs"]["type"] == "object" and props["settings"]["type"] == "object"
    for name in ("result_count", "log_count", "resumes"):
        assert props[name]["type"] == "integer", name
    for name, kind in (("exit_code", "integer"), ("pid", "integer"), ("error", "string")):
        assert props[name]["anyOf"] == [{"type": kind}, {"type": "null"}], name
    assert props["progress"]["anyOf"][0] == {"$ref": "#/components/schemas/Progress"}
    assert props["checkpoint"]["anyOf"][0]["type"] == "object"

    page = models["JobPage"]["properties"]
    assert page["jobs"]["items"] == {"$ref": "#/components/schemas/Job"}
    assert page["next_cursor"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert models["JobSubmitted"]["properties"]["status"]["const"] == "pending"
    assert models["JobStopped"]["properties"]["status"]["enum"] == ["stopping", "stopped"]
    for path, method, codes in (
        ("/jobs", "post", {"404", "409", "415", "422", "503", "507"}),
        ("/jobs/{job_id}", "get", {"404", "409", "422"}),
        ("/jobs/{job_id}/stop", "post", {"404", "409", "422"}),
    ):
        assert codes <= set(spec["paths"][path][method]["responses"]), (method, path)


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, seconds)


def test_publishing_never_reads_the_job_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's whole life on a real engine: every `job` event carries the job as the write
    that changed it returned; the only read of the job is the launch's."""
    settings = Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path / "data")})
    engine = Engine(settings)
    reads: list[str] = []
    real_read = engine.store.read

    async def counted_read(op: Callable[[sqlite3.Connection], T]) -> T:
        reads.append(getattr(op, "__qualname__", repr(op)))
        return await real_read(op)

    monkeypatch.setattr(engine.store, "read", counted_read)

    async def scenario() -> tuple[list[dict[str, Any]], list[str], Job]:
        await engine.start()
        try:
            events = engine.events.subscribe()
            reads.clear()
            submitted = await engine.jobs.submit("hello", {"count": 2, "delay": 0}, {}, None)
            published: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                event = await within(60, events.get())
                assert event is not None
                if event["type"] == "job" and event["job"]["id"] == submitted.id:
                    published.append(event["job"])
                    if JobStatus(event["job"]["status"]).is_final:
                        break
            during_life = list(reads)
            final = await engine.jobs.get(submitted.id)
            return published, during_life, final
        finally:
            await engine.stop()

    published, during_life, final = asyncio.run(scenario())
    # The launch reads the job once (what to run, with what); no transition reads it again.
    assert len(during_life) == 1, during_life
    assert [job["status"] for job in published] == ["pending", "running", "completed"]
    assert published[-1] == final.to_api()
    assert published[0]["result_count"] == 0 and published[-1]["result_count"] == 2
    assert published[1]["pid"] is not None and published[-1]["pid"] is None
