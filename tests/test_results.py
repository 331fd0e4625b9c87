"""Results: keyset pages with a total, and streamed NDJSON / CSV exports."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

MIXED = """
from sweatpants import Module

class Mixed(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["n"]):
            row = {"i": i, "name": f"row {i}"}
            if i % 3 == 0:
                row["tags"] = ["a", "b"]
            if i == inputs["n"] - 1:
                row["late_column"] = "only here, with a comma, and \\"quotes\\""
            yield row
"""


@pytest.fixture
def finished_job(daemon: RunningDaemon) -> str:
    write_module(daemon.modules_dir, "mixed", MIXED, inputs=[{"id": "n", "type": "integer"}])
    job_id = daemon.start_job("mixed", inputs={"n": 2500})
    assert daemon.wait_job(job_id)["status"] == "completed"
    return job_id


def test_default_limit_total_and_cursor_paging(daemon: RunningDaemon, finished_job: str) -> None:
    client = daemon.client()
    first = client.get(f"/jobs/{finished_job}/results").json()
    assert first["total"] == 2500 and len(first["results"]) == 1000  # the contract's default
    assert first["results"][0]["data"] == {"i": 0, "name": "row 0", "tags": ["a", "b"]}
    seen: list[int] = []
    after = 0
    for _ in range(10):
        page = client.get(f"/jobs/{finished_job}/results", params={"limit": 700, "after": after})
        body = page.json()
        seen.extend(r["data"]["i"] for r in body["results"])
        if body["next_cursor"] is None:
            break
        after = body["next_cursor"]
    assert seen == list(range(2500))
    small = client.get(f"/jobs/{finished_job}/results", params={"limit": 5}).json()
    assert [r["seq"] for r in small["results"]] == [1, 2, 3, 4, 5]
    big = client.get(f"/jobs/{finished_job}/results", params={"limit": 10**6})  # not refused
    assert big.status_code == 200 and len(big.json()["results"]) == 2500
    assert big.json()["next_cursor"] is None  # the cap pages: tests/test_paging.py


def test_ndjson_export_matches_the_results(daemon: RunningDaemon, finished_job: str) -> None:
    response = daemon.client().get(f"/jobs/{finished_job}/results/export?format=ndjson")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert rows == daemon.results(finished_job)


def test_csv_export_has_every_column(daemon: RunningDaemon, finished_job: str) -> None:
    response = daemon.client().get(f"/jobs/{finished_job}/results/export", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2500
    assert list(rows[0]) == ["i", "name", "tags", "late_column"]
    assert rows[0] == {"i": "0", "name": "row 0", "tags": '["a", "b"]', "late_column": ""}
    assert rows[-1]["late_column"] == 'only here, with a comma, and "quotes"'
    bad = daemon.client().get(f"/jobs/{finished_job}/results/export", params={"format": "xml"})
    assert bad.status_code == 422 and bad.json()["field"] == "format"
