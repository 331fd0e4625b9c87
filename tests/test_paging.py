"""Big `limit`s page instead of failing: the earlier engine took any limit; the daemon answers
one above its cap with the first page at the cap and `next_cursor` for the rest. Limits that
are not whole numbers of at least 1 are still a 422 naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sweatpants.api.paging import MAX_JOBS, MAX_LOGS, MAX_RESULTS
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

LINES = MAX_LOGS + 2_500  # more than one page of each
RESULTS = MAX_RESULTS + 2_500

CHATTY = """
from sweatpants import Module

class Chatty(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["lines"]):
            await self.log(f"line {i}", level="WARNING" if i % 4 == 0 else "INFO")
        for i in range(inputs["results"]):
            yield {"i": i}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    """One daemon for the whole file: these tests only read."""
    running = RunningDaemon(tmp_path_factory.mktemp("paging") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chatty_job(daemon: RunningDaemon) -> str:
    write_module(
        daemon.modules_dir,
        "chatty",
        CHATTY,
        inputs=[{"id": "lines", "type": "integer"}, {"id": "results", "type": "integer"}],
    )
    job_id = daemon.start_job("chatty", inputs={"lines": LINES, "results": RESULTS})
    assert daemon.wait_job(job_id, timeout=90)["status"] == "completed"
    return job_id


def get_ok(daemon: RunningDaemon, path: str, **params: Any) -> dict[str, Any]:
    response = daemon.client().get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_results_limit_above_the_cap_is_the_first_page(
    daemon: RunningDaemon, chatty_job: str
) -> None:
    path = f"/jobs/{chatty_job}/results"
    first = get_ok(daemon, path, limit=50_000)
    assert [r["seq"] for r in first["results"]] == list(range(1, MAX_RESULTS + 1))
    assert first["total"] == RESULTS and first["next_cursor"] == MAX_RESULTS
    rest = get_ok(daemon, path, limit=50_000, after=first["next_cursor"])
    assert [r["data"]["i"] for r in rest["results"]] == list(range(MAX_RESULTS, RESULTS))
    assert rest["next_cursor"] is None
    huge = get_ok(daemon, path, limit=10**30)  # any whole number, however large
    assert len(huge["results"]) == MAX_RESULTS and huge["next_cursor"] == MAX_RESULTS


def test_logs_limit_above_the_cap_starts_the_window_and_pages_on(
    daemon: RunningDaemon, chatty_job: str
) -> None:
    path = f"/jobs/{chatty_job}/logs"
    every = daemon.logs(chatty_job)
    mine = [e for e in every if e["message"].startswith("line ")]
    assert len(mine) == LINES

    # More than the job has: the window is every entry; the first page is its beginning.
    first = get_ok(daemon, path, limit=50_000)
    assert first["logs"] == every[:MAX_LOGS] and first["next_cursor"] == every[MAX_LOGS - 1]["id"]
    rest = get_ok(daemon, path, limit=50_000, after=first["next_cursor"])
    assert first["logs"] + rest["logs"] == every

    # A window smaller than the job: the newest `limit` entries, in time order, a page at a time.
    window = MAX_LOGS + 1_000
    page = get_ok(daemon, path, limit=window)
    assert page["logs"] == every[-window:][:MAX_LOGS]
    after = get_ok(daemon, path, limit=window, after=page["next_cursor"])
    assert page["logs"] + after["logs"] == every[-window:]

    # With a level: the same, among the entries of that level.
    warnings = [e for e in every if e["level"] == "WARNING"]
    window = len(warnings) - 5
    page = get_ok(daemon, path, limit=window, level="warning")
    assert page["logs"] == warnings[5:]  # fewer than a page: the whole window at once
    assert get_ok(daemon, path, limit=10**30)["logs"] == every[:MAX_LOGS]

    # Within the cap nothing changed: the newest `limit`, oldest first.
    assert get_ok(daemon, path, limit=3)["logs"] == every[-3:]


def test_jobs_limit_above_the_cap(daemon: RunningDaemon, chatty_job: str) -> None:
    listing = get_ok(daemon, "/jobs", limit=MAX_JOBS * 50)
    assert [job["id"] for job in listing["jobs"]] == [chatty_job]
    assert listing["next_cursor"] is None


@pytest.mark.parametrize(
    ("limit", "says"),
    [
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("ten", "valid integer"),
        ("1.5", "valid integer"),
        ("", "valid integer"),
    ],
)
def test_invalid_limits_are_a_422_naming_the_field(
    daemon: RunningDaemon, chatty_job: str, limit: str, says: str
) -> None:
    for path in ("/jobs", f"/jobs/{chatty_job}/logs", f"/jobs/{chatty_job}/results"):
        response = daemon.client().get(path, params={"limit": limit})
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["error"] == "invalid_input" and body["field"] == "limit"
        assert body["detail"].startswith("limit: ") and says in body["detail"], body


def test_cli_logs_limit_above_the_cap_shows_that_many(
    daemon: RunningDaemon, chatty_job: str
) -> None:
    every = daemon.logs(chatty_job)
    window = MAX_LOGS + 1_000
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants", "logs", chatty_job, "--limit", str(window), "--json"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["logs"] == every[-window:]
    assert answer["next_cursor"] == every[-1]["id"]
