"""The standalone (PyInstaller) app: built on this machine, it serves and runs jobs.

The build here is the headless variant (`scripts/build-app --gui none --no-browser`, about a
minute or two): it exercises everything a frozen app has to get right for jobs (job runners
re-entering the app's own executable, the shipped ui/assets/examples, the whole standard
library for modules, pip through a real Python, the user's LD_LIBRARY_PATH for children).
The full desktop build (WebKitGTK window, Playwright) takes minutes: `scripts/build-app --check`
builds it and runs these tests against it, then packaging/pyinstaller/check_desktop_app.py.
SWEATPANTS_TEST_FROZEN_APP=<app folder> runs these tests against any build instead.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sweatpants.version import __version__
from tests.support.daemon import wait_for
from tests.support.modules import write_module
from tests.test_modules_requirements import build_wheel, offline
from tests.test_packaging import ROOT, ServedDaemon, check_hello, clean_env, run

pytestmark = [pytest.mark.slow, pytest.mark.live, pytest.mark.timeout(1500)]

STDLIB_CODE = """
import csv, decimal, email.mime.text, http.server, statistics, xml.etree.ElementTree, zipfile
import concurrent.futures, os, sqlite3, urllib.request
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {
            "median": statistics.median([1, 2, 3]),
            "sqlite": sqlite3.sqlite_version,
            "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
        }
"""

REQUIREMENTS_CODE = """
import spdemo
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"spdemo": spdemo.VERSION}
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SWEATPANTS_TEST_FROZEN_APP")
    if given:
        yield Path(given)
        return
    out = tmp_path_factory.mktemp("frozen")
    started = time.monotonic()
    print(
        run(
            [sys.executable, ROOT / "scripts" / "build-app", "--gui", "none", "--no-browser",
             "--dist", out / "dist", "--work", out / "work"],
            timeout=1200,
            env=clean_env(PATH=os.environ["PATH"]),
        ).strip().splitlines()[-3:],
        f"({time.monotonic() - started:.0f} s)",
    )  # fmt: skip
    yield out / "dist" / "sweatpants"


def start(app_dir: Path, tmp_path: Path, **extra: str) -> ServedDaemon:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir(exist_ok=True)
    daemon = ServedDaemon(
        [app_dir / "sweatpants"], cwd=elsewhere, data_dir=tmp_path / "data", extra_env=extra
    )
    try:
        daemon.wait_ready(timeout=60)
    except BaseException:
        daemon.stop()
        raise
    return daemon


def run_module(daemon: ServedDaemon, source: Path, module_id: str) -> dict[str, object]:
    installed = daemon.client.post("/modules/install", json={"source_path": str(source)})
    assert installed.status_code in (200, 201), (installed.text, daemon.log())
    job_id = daemon.client.post("/jobs", json={"module_id": module_id}).json()["id"]

    def ended() -> dict[str, object] | None:
        job = daemon.client.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("completed", "failed", "stopped") else None

    job = wait_for(ended, 60, interval=0.1, what=f"job {job_id}")
    assert job["status"] == "completed", (job, daemon.log())
    data: dict[str, object] = daemon.client.get(f"/jobs/{job_id}/results").json()["results"][0][
        "data"
    ]
    return data


def test_frozen_app_reports_its_version(app_dir: Path) -> None:
    for args in (["--version"], ["-m", "sweatpants", "--version"]):
        out = run([app_dir / "sweatpants", *args], timeout=60, env=clean_env())
        assert out.strip() == f"sweatpants {__version__}"


def test_frozen_app_serves_and_runs_the_example_to_completion(
    app_dir: Path, tmp_path: Path
) -> None:
    daemon = start(app_dir, tmp_path)
    try:
        status = daemon.client.get("/status").json()
        assert status["engine"] == "sweatpants" and status["version"] == __version__
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        dashboard = daemon.client.get("/")
        assert dashboard.status_code == 200 and "<html" in dashboard.text.lower()
        docs = daemon.client.get("/docs/assets/swagger-ui-bundle.js")  # /docs works offline
        assert docs.status_code == 200 and len(docs.content) > 100_000, docs.text[:300]
        shipped = app_dir / "_internal" / "sweatpants" / "examples" / "hello"
        job, results = daemon.run_hello(shipped, timeout=60)
        check_hello(job, results, daemon.log())
    finally:
        daemon.stop()


def test_jobs_get_the_whole_standard_library_and_the_users_library_path(
    app_dir: Path, tmp_path: Path
) -> None:
    source = write_module(tmp_path / "src", "stdlib-user", STDLIB_CODE)
    daemon = start(app_dir, tmp_path, LD_LIBRARY_PATH="/opt/users-own/lib")
    try:
        result = run_module(daemon, source, "stdlib-user")
        assert result["median"] == 2 and result["sqlite"]
        # Not the bundle's _internal/: programs a job starts must load the system's libraries.
        assert result["ld_library_path"] == "/opt/users-own/lib"
    finally:
        daemon.stop()


def test_requirements_without_a_python_fail_clearly(app_dir: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "1.0")
    source = write_module(
        tmp_path / "src", "needs-pip", REQUIREMENTS_CODE, requirements=offline(wheels, "spdemo")
    )
    empty_path = tmp_path / "no-python"
    empty_path.mkdir()
    daemon = start(app_dir, tmp_path, PATH=str(empty_path))
    try:
        answer = daemon.client.post("/modules/install", json={"source_path": str(source)})
        assert answer.status_code == 503, answer.text
        assert "no Python of its own to run pip" in answer.json()["detail"]
    finally:
        daemon.stop()


def test_requirements_install_with_a_matching_python(app_dir: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "1.0")
    source = write_module(
        tmp_path / "src", "needs-pip", REQUIREMENTS_CODE, requirements=offline(wheels, "spdemo")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (bin_dir / name).symlink_to(sys.executable)
    daemon = start(app_dir, tmp_path, PATH=f"{bin_dir}:/usr/bin:/bin")
    try:
        assert run_module(daemon, source, "needs-pip") == {"spdemo": "1.0"}
    finally:
        daemon.stop()


def test_desktop_entry_installs_from_the_app_folder(app_dir: Path, tmp_path: Path) -> None:
    assert (app_dir / "sweatpants-app").is_file()
    env = clean_env(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), PATH="/usr/bin:/bin")
    run(["sh", app_dir / "install.sh"], timeout=60, env=env)
    entry = (tmp_path / "data" / "applications" / "sweatpants.desktop").read_text()
    assert f"Exec={app_dir / 'sweatpants-app'}" in entry.splitlines() or (
        f'Exec="{app_dir / "sweatpants-app"}"' in entry.splitlines()
    )
    assert (tmp_path / "data/icons/hicolor/48x48/apps/sweatpants.png").is_file()
    done = subprocess.run(
        ["sh", str(app_dir / "uninstall.sh")], env=env, capture_output=True, timeout=60, check=True
    )
    assert done.returncode == 0
