"""The README's example module is a real file, and it runs as the README says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.daemon import RunningDaemon

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "my-module"


def test_readme_shows_the_example_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert (EXAMPLE / "main.py").read_text() in blocks


@pytest.mark.live
def test_readme_example_installs_and_runs(daemon: RunningDaemon) -> None:
    client = daemon.client()
    installed = client.post("/modules/install", json={"source_path": str(EXAMPLE)})
    assert installed.status_code == 200, installed.text
    missing = client.post("/jobs", json={"module_id": "my-module"})
    assert missing.status_code == 422 and missing.json()["field"] == "inputs.url"
    job_id = daemon.start_job("my-module", inputs={"url": "http://127.0.0.1/pages"})
    job = daemon.wait_job(job_id)
    assert job["status"] == "completed"
    assert job["progress"] == {"done": 100, "total": 100} and job["checkpoint"] == {"page": 100}
    assert [r["page"] for r in daemon.results(job_id)] == list(range(100))
