"""The /modules endpoints of a real daemon, and modules running as real jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweatpants.modules.example import example_path
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module
from tests.test_modules_git import commit_all, make_repo
from tests.test_modules_requirements import build_wheel

pytestmark = pytest.mark.live

CODE = """
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"ok": True, "inputs": inputs}
"""

SLOW = """
import asyncio
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        while not self.is_cancelled:
            await asyncio.sleep(0.05)
        yield {"stopped": True}
"""

USES_SPDEMO = """
import spdemo
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"spdemo": spdemo.VERSION}
"""


def ids(daemon: RunningDaemon) -> list[str]:
    response = daemon.client().get("/modules")
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["modules"]]


def test_install_inspect_run_and_uninstall(daemon: RunningDaemon, tmp_path: Path) -> None:
    client = daemon.client()
    source = write_module(
        tmp_path / "src",
        "echo",
        CODE,
        inputs=[{"id": "count", "type": "integer", "default": 2, "label": "How many"}],
        capabilities=["proxy"],
    )
    response = client.post("/modules/install", json={"source_path": str(source)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["name"], body["version"]) == ("echo", "Echo", "1.0.0")
    listing = client.get("/modules").json()["modules"]
    item = next(m for m in listing if m["id"] == "echo")
    assert item["capabilities"] == ["proxy"]
    assert item["path"] == str(daemon.modules_dir / "echo")
    assert item["source"] == str(source)
    full = client.get("/modules/echo").json()
    assert full["inputs"][0]["id"] == "count"
    assert full["inputs"][0]["label"] == "How many"
    assert full["entrypoint"] == "main.py"

    job_id = daemon.start_job("echo", inputs={"count": "7", "extra": "kept"})
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [{"ok": True, "inputs": {"count": 7, "extra": "kept"}}]

    response = client.delete("/modules/echo")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "echo", "uninstalled": True}
    assert "echo" not in ids(daemon)
    assert client.get("/modules/echo").status_code == 404


def test_errors_name_the_field(daemon: RunningDaemon, tmp_path: Path) -> None:
    client = daemon.client()
    response = client.post("/modules/install", json={})
    assert response.status_code == 422
    assert response.json()["field"] == "source_path"
    response = client.post("/modules/install", json={"source_path": str(tmp_path / "nope")})
    assert response.status_code == 422
    assert response.json()["field"] == "source_path"
    broken = write_module(tmp_path / "src", "broken", CODE)
    (broken / "module.json").write_text('{"id": "broken", "name": "B"}')
    response = client.post("/modules/install", json={"source_path": str(broken)})
    assert response.status_code == 422
    assert response.json()["detail"] == f"{broken / 'module.json'}: field 'version' is required"
    response = client.get("/modules/nope")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "module 'nope' is not installed",
        "error": "not_found",
        "field": "module_id",
    }
    for hostile in ("..%2F..%2Fetc", ".deps", "%2E%2E"):
        assert client.delete(f"/modules/{hostile}").status_code in (404, 422)
        assert client.get(f"/modules/{hostile}").status_code in (404, 422)
    for url in ("ext::sh -c touch% /tmp/pwned", "-oProxyCommand=touch /tmp/pwned", "fd::3"):
        response = client.post("/modules/install-git", json={"repo_url": url})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "repo_url"
    response = client.post(
        "/modules/install-git", json={"repo_url": "file:///etc", "module_name": "../../"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "module_name"
    assert not Path("/tmp/pwned").exists()
    assert daemon.modules_dir.exists()
    assert sorted(p.name for p in daemon.modules_dir.iterdir() if p.name != "hello") == []


def test_git_install_sync_and_reload(daemon: RunningDaemon, tmp_path: Path) -> None:
    client = daemon.client()
    repo = make_repo(tmp_path / "repo")
    write_module(repo / "modules", "fromgit", CODE)
    commit_all(repo)
    response = client.post(
        "/modules/install-git", json={"repo_url": repo.as_uri(), "module_name": "modules/fromgit"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "fromgit"

    response = client.post("/modules/sync")
    assert response.status_code == 200
    assert response.json()["config_found"] is False
    config = daemon.data_dir / "modules.yaml"
    config.write_text(
        f"module_sources:\n  - repo: {repo.as_uri()}\n    modules: [fromgit]\n"
        f"  - repo: {(tmp_path / 'missing').as_uri()}\n"
    )
    report = client.post("/modules/sync").json()
    assert report["installed"] == []  # installed above from the same commit
    assert [s["id"] for s in report["skipped"]] == ["fromgit"]
    assert len(report["failed"]) == 1

    dropped = write_module(daemon.modules_dir, "dropped", CODE)
    wait_for(lambda: "dropped" in ids(daemon), 10, what="hand-placed module")
    assert client.get("/status").json()["module_count"] == len(ids(daemon))
    (dropped / "module.json").write_text("{ nope")
    reload = client.post("/modules/reload").json()
    assert "dropped" not in [m["id"] for m in reload["modules"]]
    assert reload["errors"][0]["path"] == str(dropped)
    assert "not valid JSON" in reload["errors"][0]["error"]


def test_uninstall_refused_while_a_job_runs(daemon: RunningDaemon, tmp_path: Path) -> None:
    client = daemon.client()
    source = write_module(tmp_path / "src", "busy", SLOW)
    assert client.post("/modules/install", json={"source_path": str(source)}).status_code == 200
    job_id = daemon.start_job("busy")
    daemon.wait_job(job_id, {"running"})
    response = client.delete("/modules/busy")
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "busy" in ids(daemon)
    client.post(f"/jobs/{job_id}/stop")
    daemon.wait_job(job_id)
    wait_for(lambda: client.delete("/modules/busy").status_code == 200, 10, what="uninstall")


@pytest.mark.slow
def test_jobs_import_their_own_requirements(daemon: RunningDaemon, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "1.0")
    build_wheel(wheels, "2.0")
    client = daemon.client()
    for module_id, version in (("dep-one", "1.0"), ("dep-two", "2.0")):
        folder = write_module(
            tmp_path / "src",
            module_id,
            USES_SPDEMO,
            requirements=f"--find-links {wheels}\nspdemo=={version}\n",  # httpx: the index
        )
        response = client.post("/modules/install", json={"source_path": str(folder)}, timeout=120)
        assert response.status_code == 200, response.text
    one, two = daemon.start_job("dep-one"), daemon.start_job("dep-two")
    assert daemon.wait_job(one)["status"] == "completed", daemon.job(one)
    assert daemon.wait_job(two)["status"] == "completed", daemon.job(two)
    assert daemon.results(one) == [{"spdemo": "1.0"}]
    assert daemon.results(two) == [{"spdemo": "2.0"}]


@pytest.mark.slow
def test_hello_example_runs_and_resumes_after_kill(daemon: RunningDaemon) -> None:
    client = daemon.client()
    if "hello" not in ids(daemon):
        response = client.post("/modules/install", json={"source_path": str(example_path())})
        assert response.status_code == 200, response.text
    quick = daemon.start_job("hello", inputs={"name": "Ada", "count": "3", "delay": 0})
    assert daemon.wait_job(quick)["status"] == "completed"
    assert [r["n"] for r in daemon.results(quick)] == [0, 1, 2]
    assert daemon.results(quick)[0]["greeting"] == "Hello, Ada! (1/3)"
    messages = [entry["message"] for entry in daemon.logs(quick)]
    assert "Hello, Ada! (3/3)" in messages
    assert daemon.job(quick)["progress"]["done"] == 3

    slow = daemon.start_job("hello", inputs={"count": 40, "delay": 0.05})
    wait_for(lambda: len(daemon.results(slow)) >= 5, 30, what="a few greetings")
    daemon.kill()  # SIGKILL, mid-job
    daemon.restart()
    job = daemon.wait_job(slow, timeout=90)
    assert job["status"] == "completed", json.dumps(job)
    assert [r["n"] for r in daemon.results(slow)] == list(range(40))
    assert any(entry["message"].startswith("Resuming after") for entry in daemon.logs(slow))
