"""Retention and webhooks without a daemon: the SQL on a real SQLite file (what a prune picks,
purging in batches, space given back), the signing of a delivery checked by our verifier and
by the docs' verifiers, what counts as a retry, the request checks, and /openapi.json naming
the answers of the new routes."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.errors import InvalidInput
from sweatpants.jobs.retention import checked_statuses, older_than_seconds
from sweatpants.store import retention as sql
from sweatpants.store.db import connect
from sweatpants.store.schema import migrate
from sweatpants.tokens import verify_token
from sweatpants.webhooks import signing
from sweatpants.webhooks.delivery import retry_after, retryable
from sweatpants.webhooks.events import checked_events, event_of
from sweatpants.webhooks.service import checked_url

ROOT = Path(__file__).resolve().parents[1]


def database(tmp_path: Path) -> Any:
    conn = connect(tmp_path / "t.db")
    migrate(conn)
    return conn


def add_job(conn: Any, job_id: str, module_id: str, status: str, ended: float, rows: int) -> None:
    conn.execute(
        "INSERT INTO jobs (id, module_id, status, inputs, settings, created_at, completed_at,"
        " result_count, log_count) VALUES (?, ?, ?, '{}', '{}', ?, ?, ?, ?)",
        (job_id, module_id, status, ended - 1, ended, rows, rows),
    )
    conn.executemany(
        "INSERT INTO results (job_id, seq, ts, data) VALUES (?, ?, ?, ?)",
        [(job_id, n, ended, json.dumps({"pad": "x" * 400})) for n in range(1, rows + 1)],
    )
    conn.executemany(
        "INSERT INTO logs (job_id, ts, level, message) VALUES (?, ?, 'INFO', ?)",
        [(job_id, ended, "y" * 200) for _ in range(rows)],
    )


def test_prune_candidates_follow_every_filter(tmp_path: Path) -> None:
    conn = database(tmp_path)
    now = time.time()
    add_job(conn, "a-old-done", "a", "completed", now - 90 * 86400, 1)
    add_job(conn, "a-old-failed", "a", "failed", now - 80 * 86400, 1)
    add_job(conn, "a-new-done", "a", "completed", now - 60, 1)
    add_job(conn, "a-running", "a", "running", now - 90 * 86400, 1)
    add_job(conn, "b-old-done", "b", "completed", now - 70 * 86400, 1)

    def pick(**kw: Any) -> list[str]:
        args: dict[str, Any] = {"statuses": (), "module_id": None, "keep_last": 0, "limit": 100}
        args.update(kw)
        return sql.prune_candidates(conn, **args)

    month = now - 30 * 86400
    assert pick(ended_before=month) == ["a-old-done", "a-old-failed", "b-old-done"]
    assert pick(ended_before=now) == ["a-old-done", "a-old-failed", "b-old-done", "a-new-done"]
    assert pick(ended_before=month, statuses=["failed"]) == ["a-old-failed"]
    assert pick(ended_before=month, module_id="b") == ["b-old-done"]
    assert pick(ended_before=now, module_id="a", keep_last=2) == ["a-old-done"]
    assert pick(ended_before=month, limit=1) == ["a-old-done"]
    now2 = time.time()
    conn.execute(
        "INSERT INTO schedules (id, module_id, inputs, settings, created_at, updated_at,"
        " last_job_id) VALUES ('s', 'a', '{}', '{}', ?, ?, 'a-old-done')",
        (now2, now2),
    )
    assert pick(ended_before=month) == ["a-old-failed", "b-old-done"]


def test_drop_then_purge_in_batches_gives_the_space_back(tmp_path: Path) -> None:
    conn = database(tmp_path)
    assert sql.auto_vacuum(conn) == "incremental"
    now = time.time()
    conn.execute("BEGIN")
    add_job(conn, "big", "m", "completed", now, 5000)
    add_job(conn, "small", "m", "completed", now, 3)
    add_job(conn, "live", "m", "running", now, 3)
    conn.execute("COMMIT")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    dropped = sql.drop_jobs(conn, ["big", "live", "missing"], now)
    assert [(d.id, d.result_count, d.log_count) for d in dropped] == [("big", 5000, 5000)]
    assert sql.pending_purges(conn) == 1
    batches = 0
    for _ in range(100):
        batch = sql.purge_batch(conn, rows=1000)
        batches += 1
        if batch.remaining == 0:
            break
    assert batches == 6 and batch.jobs_done == ("big",)  # 5 full batches, 1 that finds none
    for _ in range(1000):
        if sql.give_back_space(conn) == 0:
            break
    count = conn.execute("SELECT count(*) FROM results WHERE job_id = 'big'").fetchone()[0]
    assert count == 0
    assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 6  # small and live
    assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 6
    assert conn.execute("PRAGMA page_count").fetchone()[0] < pages / 4  # the file shrank


def test_a_signed_delivery_verifies_with_our_verifier_and_the_docs_ones() -> None:
    body = b'{"id":"j1","event":"job.completed"}'
    now = time.time()
    headers = signing.headers(
        body=body, event="job.completed", delivery_id="d1", now=now, secret="k", sub=7, jti="j1"
    )
    assert headers["User-Agent"].startswith("sweatpants/")
    stamp = headers["X-Sweatpants-Timestamp"]
    assert stamp == str(int(now))
    assert headers["X-Sweatpants-Signature"] == signing.signature("k", int(now), body)
    claims = verify_token("k", headers["Authorization"].removeprefix("Bearer "))
    assert (claims.sub, claims.scopes, claims.jti, claims.iss) == (
        7,
        ("callback:write",),
        "j1",
        "sweatpants",
    )
    text = (ROOT / "docs" / "api.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "verify_token" in b)
    docs: dict[str, Any] = {}
    exec(compile(code, "docs/api.md", "exec"), docs)
    assert docs["verify_signature"](b"k", headers, body)
    assert not docs["verify_signature"](b"k", {**headers, "X-Sweatpants-Timestamp": "1"}, body)
    assert docs["verify_token"](b"k", headers["Authorization"])["sub"] == 7
    assert docs["verify_token"](b"other", headers["Authorization"]) is None
    unsigned = signing.headers(body=body, event="e", delivery_id="d", now=now, secret=None)
    assert "Authorization" not in unsigned and signing.SIGNATURE_HEADER not in unsigned


def test_what_is_retried_and_what_is_final() -> None:
    assert [retryable(c) for c in (None, 408, 429, 500, 503)] == [True] * 5
    assert [retryable(c) for c in (200, 301, 400, 401, 404, 410, 422)] == [False] * 7
    assert retry_after("120") == 120.0 and retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


def test_request_checks_name_the_field() -> None:
    for bad in ("ftp://x/y", "file:///etc/passwd", "http://", "javascript:alert(1)", "", 3):
        with pytest.raises(InvalidInput) as caught:
            checked_url(bad)
        assert caught.value.field == "url"
    assert checked_url(" https://example.org/hook ") == "https://example.org/hook"
    for bad_events in ([], ["job.finished"], "job.completed", [1]):
        with pytest.raises(InvalidInput) as caught:
            checked_events(bad_events)
        assert caught.value.field == "events"
    assert checked_events(["job.failed", "job.failed"]) == ["job.failed"]
    assert older_than_seconds("0s") == 0 and older_than_seconds("0") == 0
    assert older_than_seconds("30d") == 30 * 86400
    for bad_age in ("soon", "", None, 30, "-1d"):
        with pytest.raises(InvalidInput) as caught:
            older_than_seconds(bad_age)
        assert caught.value.field == "older_than"
    assert checked_statuses(["failed", "failed"]) == ["failed"] and checked_statuses(None) == []
    with pytest.raises(InvalidInput) as caught:
        checked_statuses(["running"])
    assert caught.value.field == "status"
    assert event_of({"status": "completed"}) == "job.completed"
    assert event_of({"status": "pending", "started_at": None, "resumes": 0}) == "job.created"
    assert event_of({"status": "pending", "started_at": "x", "resumes": 1}) is None


def test_openapi_names_the_new_answers(tmp_path: Path) -> None:
    app = create_app(Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path / "data")}))

    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            spec: dict[str, Any] = (await c.get("/openapi.json")).json()
            return spec

    paths = asyncio.run(fetch())["paths"]

    def model(method: str, path: str) -> str:
        content = paths[path][method]["responses"]["200"]["content"]["application/json"]
        return str(content["schema"]["$ref"]).rsplit("/", 1)[-1]

    assert model("delete", "/jobs/{job_id}") == "JobDeleted"
    assert model("post", "/jobs/prune") == "PruneReport"
    assert model("get", "/webhooks") == "WebhookList"
    assert model("post", "/webhooks") == "Webhook"
    assert model("patch", "/webhooks/{webhook_id}") == "Webhook"
    assert model("get", "/webhooks/{webhook_id}/deliveries") == "DeliveryPage"
    assert model("post", "/webhooks/{webhook_id}/test") == "Delivery"
    assert model("post", "/deliveries") == "Delivery"
    assert model("get", "/deliveries/{delivery_id}") == "Delivery"
