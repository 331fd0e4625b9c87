"""Desktop app parts that need no X server: status tracking, autostart files, the single-
instance lock and doorbell, icons, and the launcher's headless and port-conflict paths
(real subprocesses, real sockets)."""

from __future__ import annotations

import http.server
import os
import plistlib
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sweatpants.desktop.autostart import Autostart, login_command
from sweatpants.desktop.icons import BACKGROUND, ICO_SIZES, TrayState, draw_icon, write_assets
from sweatpants.desktop.instance import AlreadyRunning, Doorbell, InstanceLock, ring
from sweatpants.desktop.notify import Notifier, job_message
from sweatpants.desktop.watch import StatusTracker, TraySnapshot
from tests.support.daemon import RunningDaemon, port_is_free, wait_for
from tests.support.xdisplay import share_near

ROOT = Path(__file__).resolve().parent.parent


def status(
    running: int = 0, pending: int = 0, failed: int = 0, completed: int = 0
) -> dict[str, Any]:
    counts = {"running": running, "pending": pending, "failed": failed, "completed": completed}
    return {"engine": "sweatpants", "counts": {**counts, "stopped": 0}}


# -- what the tray shows -------------------------------------------------------------------


def test_snapshot_states_and_texts() -> None:
    assert TraySnapshot().state is TrayState.IDLE
    assert TraySnapshot().tooltip == "Sweatpants: Idle (0 running)"
    busy = TraySnapshot(running=2, pending=1)
    assert busy.state is TrayState.RUNNING
    assert busy.tooltip == "Sweatpants: 2 running, 1 waiting"
    failed = TraySnapshot(running=1, failed_unseen=1)
    assert failed.state is TrayState.FAILED  # a failure is news even while others run
    assert failed.status_line == "1 running, 1 failed"
    assert TraySnapshot(reachable=False).status_line == "Engine not answering"


def test_failures_count_only_since_the_last_look() -> None:
    tracker = StatusTracker()
    # Failures from before the app started are not news.
    assert tracker.snapshot(status(failed=4)).state is TrayState.IDLE
    assert tracker.snapshot(status(running=1, failed=4)).state is TrayState.RUNNING
    after = tracker.snapshot(status(running=1, failed=5))
    assert (after.state, after.failed_unseen) == (TrayState.FAILED, 1)
    tracker.mark_seen()
    assert tracker.snapshot(status(running=1, failed=5)).state is TrayState.RUNNING
    # A shrinking count (jobs deleted) never goes negative.
    assert tracker.snapshot(status(failed=2)).failed_unseen == 0


def test_ended_jobs_are_reported_once_and_not_on_the_first_look() -> None:
    tracker = StatusTracker()
    old = {"id": "a" * 36, "status": "failed", "module_id": "m"}
    assert tracker.ended_jobs([old]) == []
    done = {"id": "b" * 36, "status": "completed", "module_id": "m", "result_count": 3}
    stopped = {"id": "c" * 36, "status": "stopped", "module_id": "m"}
    running = {"id": "d" * 36, "status": "running", "module_id": "m"}
    assert tracker.ended_jobs([running, stopped, done, old]) == [done]
    assert tracker.ended_jobs([running, stopped, done, old]) == []


def test_notification_texts() -> None:
    failed = {"id": "0123456789ab", "status": "failed", "module_id": "scrape", "error": "boom\nx"}
    assert job_message(failed) == ("scrape failed", "Job 01234567: boom")
    done = {"id": "0123456789ab", "status": "completed", "module_id": "scrape", "result_count": 7}
    assert job_message(done) == ("scrape completed", "Job 01234567: 7 results")


class _Icon:
    HAS_NOTIFICATION = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.shown: list[tuple[str, str | None]] = []

    def notify(self, message: str, title: str | None = None) -> None:
        if self.fail:
            raise RuntimeError("no notification service")
        self.shown.append((message, title))


def test_notifier_uses_the_tray_and_degrades_quietly() -> None:
    icon = _Icon()
    Notifier(icon).job_ended({"id": "0123456789", "status": "failed", "module_id": "m"})
    assert icon.shown == [("Job 01234567: no error message", "m failed")]
    Notifier(_Icon(fail=True)).send("title", "never raises")
    Notifier(None).send("title", "nothing to show it with")


# -- start at login ------------------------------------------------------------------------


def test_xdg_autostart_entry(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "SWEATPANTS_DATA_DIR": "data dir"}
    autostart = Autostart(platform="linux", home=tmp_path, environ=env)
    assert not autostart.is_enabled()  # off until the user turns it on
    autostart.enable()
    entry = tmp_path / "cfg" / "autostart" / "sweatpants.desktop"
    assert autostart.path == entry and autostart.is_enabled()
    text = entry.read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "-m sweatpants.desktop --hidden" in exec_line
    assert f'--data-dir "{Path("data dir").resolve()}"' in exec_line  # quoted: it has a space
    autostart.disable()
    assert not autostart.is_enabled() and not entry.exists()
    autostart.disable()  # twice is fine


def test_macos_launch_agent(tmp_path: Path) -> None:
    autostart = Autostart(platform="darwin", home=tmp_path, environ={"SWEATPANTS_API_PORT": "9"})
    autostart.enable()
    assert autostart.path == tmp_path / "Library/LaunchAgents/dev.sweatpants.app.plist"
    agent = plistlib.loads(autostart.path.read_bytes())
    assert agent["RunAtLoad"] is True
    assert agent["ProgramArguments"][-4:] == ["sweatpants.desktop", "--hidden", "--port", "9"]


def test_login_command_carries_no_secret() -> None:
    argv = login_command({"SWEATPANTS_API_AUTH_TOKEN": "s3cret", "SWEATPANTS_API_HOST": "::1"})
    assert "s3cret" not in " ".join(argv)
    assert argv[-2:] == ["--host", "::1"]


# -- single instance -----------------------------------------------------------------------


def test_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path / "desktop" / "app.lock")
    assert lock.acquire()
    probe = (
        "import sys; from pathlib import Path; "
        "from sweatpants.desktop.instance import InstanceLock; "
        f"sys.exit(0 if InstanceLock(Path({str(lock.path)!r})).acquire() else 3)"
    )
    held = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, timeout=30)
    assert held.returncode == 3
    lock.release()
    free = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, timeout=30)
    assert free.returncode == 0


def test_doorbell_needs_the_secret(tmp_path: Path) -> None:
    rung = threading.Event()
    info = tmp_path / "app.json"
    bell = Doorbell(info, on_command=lambda command: rung.set() if command == "show" else None)
    bell.start()
    try:
        assert oct(info.stat().st_mode & 0o777) == "0o600"
        with socket.create_connection(("127.0.0.1", bell.port), timeout=5) as conn:
            conn.sendall(b"guess show\n")
            assert conn.recv(16).startswith(b"no")
        assert not rung.is_set()
        ring(info, "show")
        assert rung.wait(5)
    finally:
        bell.stop()
    assert not info.exists()
    with pytest.raises(AlreadyRunning):
        ring(info, "show", timeout=0.3)


# -- icons ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(TrayState))
def test_each_state_has_its_colour(state: TrayState) -> None:
    for size in (16, 22, 64):
        image = draw_icon(state, size)
        assert image.size == (size, size)
        assert share_near(image, BACKGROUND[state]) > 0.3
        others = [s for s in TrayState if s is not state]
        assert all(share_near(image, BACKGROUND[o]) < 0.05 for o in others)


def test_committed_assets_are_complete(tmp_path: Path) -> None:
    assets = ROOT / "assets"
    for state in TrayState:
        with Image.open(assets / f"tray-{state.value}.png") as image:
            assert image.size == (64, 64)
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(assets / f"sweatpants-{size}.png") as image:
            assert image.size == (size, size)
    with Image.open(assets / "sweatpants.ico") as ico:
        assert {s[0] for s in ico.info["sizes"]} == set(ICO_SIZES)
    # The committed files are what the drawing code makes today.
    fresh = {path.name for path in write_assets(tmp_path)}
    assert fresh <= {path.name for path in assets.iterdir()}


# -- the launcher without a display ---------------------------------------------------------


def app_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env.update(
        SWEATPANTS_DATA_DIR=str(data_dir),
        SWEATPANTS_API_PORT=str(port),
        SWEATPANTS_STOP_GRACE_SECONDS="2",
        XDG_CONFIG_HOME=str(data_dir.parent / "config"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.mark.live
def test_headless_without_display(tmp_path: Path) -> None:
    env = app_env(tmp_path / "data", 0)  # any free port: the app says which it got
    log = (tmp_path / "app.log").open("wb")
    app = subprocess.Popen(
        [sys.executable, "-m", "sweatpants", "app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def said_dashboard() -> int | None:
            assert app.poll() is None, (tmp_path / "app.log").read_text()
            said = re.search(
                r"Dashboard: http://127\.0\.0\.1:(\d+)/", (tmp_path / "app.log").read_text()
            )
            return int(said.group(1)) if said else None

        port: int = wait_for(said_dashboard, 60, what="the headless app to print the dashboard URL")
        output = (tmp_path / "app.log").read_text()
        assert "no display" in output and "Running the daemon headless" in output
        answer = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).json()
        assert answer["engine"] == "sweatpants"

        second = subprocess.run(
            [sys.executable, "-m", "sweatpants", "app"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert f"already running (http://127.0.0.1:{port})" in second.stderr
        assert app.poll() is None

        app.send_signal(signal.SIGTERM)
        assert app.wait(30) == 0
        assert port_is_free(port)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        log.close()


class _Other(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>someone else</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def other_program() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_port_held_by_another_program(tmp_path: Path, other_program: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants", "app", "--headless"],
        cwd=ROOT,
        env=app_env(tmp_path / "data", other_program),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"Port {other_program} on 127.0.0.1 is in use by another program" in done.stderr
    assert "SWEATPANTS_API_PORT" in done.stderr


@pytest.mark.live
def test_uses_the_sweatpants_daemon_already_running(tmp_path: Path) -> None:
    daemon = RunningDaemon(tmp_path / "daemon-data", token="tok-123").start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sweatpants", "app", "--headless"],
            cwd=ROOT,
            env=app_env(tmp_path / "data", daemon.port, SWEATPANTS_API_AUTH_TOKEN="tok-123"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "already running there" in done.stderr
        assert daemon.process is not None and daemon.process.poll() is None
    finally:
        daemon.stop()
