"""Check a full standalone desktop build: tray icon, dashboard window, jobs (pytest module).

Run by `scripts/build-app --check` after a GUI build, or by hand:

    SWEATPANTS_TEST_FROZEN_APP=dist/sweatpants .venv/bin/python -m pytest \
        packaging/pyinstaller/check_desktop_app.py

It lives outside tests/ on purpose: the full build takes minutes (228-950 s on the 2-core
build machine; ~435 MB with WebKitGTK, ~910 MB with Qt), too slow for every CI run; CI
builds and checks the headless variant instead (tests/test_packaging_frozen.py). It starts
`sweatpants-app` on a real X server with a tray host (tests/support/xdisplay.py), waits for
the tray icon and for the dashboard window to draw, and runs the example module through the
daemon the app started. Without
SWEATPANTS_TEST_FROZEN_APP it builds the app itself into a temp directory first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for tests.support

from tests.support.daemon import free_port, wait_for
from tests.support.xdisplay import distinct_colours, session_command, start_xdisplay
from tests.test_packaging import ROOT, check_hello, clean_env, run

pytestmark = [pytest.mark.slow, pytest.mark.desktop, pytest.mark.live, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def gui_app_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SWEATPANTS_TEST_FROZEN_APP")
    if given:
        app = Path(given)
        if not (app / "_internal" / "PyQt6").is_dir() and not (app / "_internal" / "gi").is_dir():
            raise AssertionError(f"{app} is a headless build: make one with scripts/build-app")
        yield app
        return
    out = tmp_path_factory.mktemp("frozen-gui")
    started = time.monotonic()
    lines = run(
        [sys.executable, ROOT / "scripts" / "build-app", "--dist", out / "dist",
         "--work", out / "work"],
        timeout=2000,
        env=clean_env(PATH=os.environ["PATH"]),
    ).strip().splitlines()  # fmt: skip
    print(lines[-3:], f"({time.monotonic() - started:.0f} s)")
    yield out / "dist" / "sweatpants"


def test_frozen_desktop_app_shows_tray_and_dashboard_and_runs_jobs(
    gui_app_dir: Path, tmp_path: Path
) -> None:
    xd = start_xdisplay(tmp_path / "x")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = xd.env(
        clean_env(
            SWEATPANTS_DATA_DIR=str(tmp_path / "data"),
            SWEATPANTS_API_PORT=str(port),
            XDG_CONFIG_HOME=str(tmp_path / "config"),
        )
    )
    log_path = tmp_path / "app.log"
    with log_path.open("wb") as log:
        app = subprocess.Popen(
            session_command([str(gui_app_dir / "sweatpants-app")]),
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def app_log() -> str:
        return log_path.read_text(errors="replace")[-5000:]

    try:
        client = httpx.Client(base_url=url, timeout=30)

        def status() -> dict[str, object] | None:
            if app.poll() is not None:
                raise AssertionError(f"the app exited {app.returncode}:\n{app_log()}")
            try:
                return client.get("/status", timeout=2).json()
            except httpx.HTTPError:
                return None

        wait_for(status, 120, interval=0.2, what="the app's daemon")
        wait_for(xd.tray_children, 60, interval=0.3, what="the tray icon")

        def dashboard_drawn() -> bool:
            if "dashboard loaded" not in app_log():
                return False
            shot = xd.screenshot(tmp_path / "screen.png")
            with Image.open(shot) as image:
                return distinct_colours(image.convert("RGB")) > 20

        wait_for(dashboard_drawn, 120, interval=1.0, what="the dashboard window to draw")

        hello = gui_app_dir / "_internal" / "sweatpants" / "examples" / "hello"
        if "hello" not in {module["id"] for module in client.get("/modules").json()["modules"]}:
            assert client.post("/modules/install", json={"source_path": str(hello)}).is_success
        inputs = {"name": "wheel", "count": 3, "delay": 0}
        job_id = client.post("/jobs", json={"module_id": "hello", "inputs": inputs}).json()["id"]

        def ended() -> dict[str, object] | None:
            job = client.get(f"/jobs/{job_id}").json()
            return job if job["status"] in ("completed", "failed", "stopped") else None

        job = wait_for(ended, 60, interval=0.1, what="the hello job")
        results = client.get(f"/jobs/{job_id}/results").json()["results"]
        check_hello(job, results, app_log())
        client.close()
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGTERM)
            try:
                app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(app.pid, signal.SIGKILL)
                app.wait(timeout=5)
        xd.stop()
