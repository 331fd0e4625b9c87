"""Every endpoint of the seed contract (shared/seed/api.md) answers with its documented shape."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live


def git_repo_with_module(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write_module(
        repo, "from-git", samples.COUNTER, inputs=[{"id": "n", "type": "integer", "default": 2}]
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "commit",
            "-qm",
            "m",
        ],
        check=True,
    )
    return repo


def test_seed_contract_shapes(daemon: RunningDaemon, tmp_path: Path) -> None:
    client = daemon.client()

    status = client.get("/status").json()
    assert status["status"] == "running" and isinstance(status["uptime"], str)
    assert isinstance(status["module_count"], int) and isinstance(status["jobs"], list)

    modules = client.get("/modules").json()["modules"]
    hello = next(m for m in modules if m["id"] == "hello")  # installed on first start
    assert {"id", "name", "version", "capabilities"} <= set(hello)

    detail = client.get("/modules/hello").json()
    assert {"id", "name", "version", "inputs", "settings", "capabilities"} <= set(detail)

    source = write_module(
        tmp_path / "src",
        "counter",
        samples.COUNTER,
        inputs=[{"id": "n", "type": "integer", "default": 3}],
    )
    installed = client.post("/modules/install", json={"source_path": str(source)}).json()
    assert {"id", "name", "version"} <= set(installed) and installed["id"] == "counter"

    repo = git_repo_with_module(tmp_path)
    from_git = client.post(
        "/modules/install-git", json={"repo_url": f"file://{repo}", "module_name": "from-git"}
    )
    assert from_git.status_code == 200, from_git.text
    assert {"id", "name", "version"} <= set(from_git.json()) and from_git.json()["id"] == "from-git"

    synced = client.post("/modules/sync").json()
    assert {"installed", "failed", "skipped"} <= set(synced)

    started = client.post(
        "/jobs",
        json={"module_id": "counter", "inputs": {"n": 3}, "settings": {}, "max_duration": "1h"},
    ).json()
    assert set(started) >= {"id", "status"} and started["status"] == "pending"
    job = daemon.wait_job(started["id"])
    for key in (
        "id",
        "module_id",
        "status",
        "inputs",
        "settings",
        "created_at",
        "started_at",
        "completed_at",
        "error",
        "checkpoint",
    ):
        assert key in job
    assert job["created_at"].endswith("Z")

    listed = client.get("/jobs").json()["jobs"]
    assert started["id"] in {j["id"] for j in listed}
    completed = client.get("/jobs", params={"status": "completed"}).json()["jobs"]
    assert all(j["status"] == "completed" for j in completed) and completed

    logs = client.get(f"/jobs/{started['id']}/logs").json()["logs"]
    assert logs and set(logs[0]) >= {"timestamp", "level", "message"}

    results = client.get(f"/jobs/{started['id']}/results").json()
    assert results["total"] == 3 and results["results"][0]["data"] == {"i": 0, "pad": ""}

    with connect(daemon.ws_url(f"/jobs/{started['id']}/logs/stream")) as ws:
        first = json.loads(ws.recv(timeout=10))
    assert {"timestamp", "level", "message"} <= set(first)

    running = client.post(
        "/jobs", json={"module_id": "hello", "inputs": {"count": 1000, "delay": 0.1}}
    ).json()
    daemon.wait_job(running["id"], statuses=["running"])
    stopped = client.post(f"/jobs/{running['id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["id"] == running["id"]
    assert daemon.wait_job(running["id"])["status"] == "stopped"

    removed = client.delete("/modules/from-git")
    assert removed.status_code == 200
    assert client.get("/modules/from-git").status_code == 404
