"""Desktop app: launch → dashboard visible, the memory of the app with the window open and
closed, and reopen → dashboard visible again.

`sweatpants app` runs under Xvfb with trayer as the tray host and its own D-Bus session
(tests/support/xdisplay.py, as in tests/test_desktop_tray.py), on a temp data dir and a free
port. "Visible" means the window named Sweatpants is mapped and a screenshot of it shows the
rendered dashboard (at least 150 colours: a blank or loading page has one or two), polled
every 0.1 s. Memory is PSS (/proc/PID/smaps_rollup) summed over the app's process tree: the
tray process (with the daemon in it), the job fork server and, while it is open, the window
process and its web engine's helpers. Reopen: the window is closed (WM_DELETE_WINDOW, as a
close button), the tree is waited back under 150 MiB, then the running app is asked to show
the dashboard the way a second launch does (its doorbell), N times.

    .venv/bin/python benchmarks/desktop_window.py [--quick] [--reopen N] [--backend gtk]
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from common import (
    ROOT,
    Figure,
    arguments,
    attempt,
    cpu_seconds,
    descendants,
    free_port,
    print_table,
    write_json,
)
from PIL import Image

sys.path.insert(0, str(ROOT))
from sweatpants.desktop.instance import ring
from tests.support.xdisplay import (
    XDisplay,
    distinct_colours,
    session_command,
    start_xdisplay,
)

T = TypeVar("T")
CLOSED_BUDGET_MIB = 150.0
POLL_SECONDS = 0.1
RENDERED_COLOURS = 150


def wait(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / POLL_SECONDS) + 2):
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"no {what} within {timeout:.0f} s")


def pss_mib(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1024
    return total


class App:
    def __init__(self, xd: XDisplay, workdir: Path, backend: str) -> None:
        self.xd = xd
        self.data_dir = workdir / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        env.update(
            SWEATPANTS_DATA_DIR=str(self.data_dir),
            SWEATPANTS_API_PORT=str(free_port()),
            SWEATPANTS_API_AUTH_TOKEN="bench-token",
            XDG_CONFIG_HOME=str(workdir / "config"),
            PYSTRAY_BACKEND=backend,
        )
        self.log = (workdir / "app.log").open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            session_command([sys.executable, "-m", "sweatpants", "app"]),
            cwd=ROOT,
            env=xd.env(env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def app_pid(self) -> int | None:
        for pid in descendants(self.process.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[1:4] == [b"-m", b"sweatpants", b"app"]:
                return pid
        return None

    def window_cpu(self) -> float:
        """CPU seconds used so far by the window process and its web engine's helpers."""
        app = self.app_pid()
        total = 0.0
        for pid in descendants(app) if app else set():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"sweatpants.desktop.window" in argv:
                total += sum(cpu_seconds(p) for p in {pid} | descendants(pid))
        return total

    def tree_pss(self) -> tuple[float, int]:
        app = self.app_pid()
        pids = {app} | descendants(app) if app else set()
        return pss_mib(pids), len(pids)

    def rendered(self, shot: Path) -> str | None:
        try:
            windows = self.xd.windows()
        except (RuntimeError, subprocess.SubprocessError):  # a window went away meanwhile
            return None
        for window in windows:
            if window.name != "Sweatpants" or window.width < 400:
                continue
            try:
                if not self.xd.is_viewable(window.wid):
                    continue
                self.xd.screenshot(shot, window.wid)
            except (RuntimeError, subprocess.SubprocessError):
                continue
            with Image.open(shot) as image:
                if distinct_colours(image) >= RENDERED_COLOURS:
                    return window.wid
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


STAMP = "%Y-%m-%d %H:%M:%S,%f"


def log_steps(log_path: Path) -> list[tuple[float, float]]:
    """From the app's log: for each window process started, seconds until the window was
    shown and until the page had loaded (the app's own view, without screenshots)."""
    steps: list[tuple[float, float]] = []
    started = shown = None
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            at = datetime.datetime.strptime(line[:23], STAMP).timestamp()
        except ValueError:
            continue
        if "dashboard window process started" in line:
            started, shown = at, None
        elif "dashboard window shown" in line and started is not None:
            shown = at - started
        elif "dashboard loaded" in line and started is not None and shown is not None:
            steps.append((shown, at - started))
            started = None
    return steps


def measure(workdir: Path, backend: str, reopens: int) -> list[Figure]:
    xd = start_xdisplay(workdir / "x", width=1600, height=1000)
    app = App(xd, workdir, backend)
    shot = workdir / "shot.png"
    figures: list[Figure] = []
    try:
        wid = wait("dashboard", lambda: app.rendered(shot), 120)
        launch = time.monotonic() - app.started
        root = app.app_pid()
        launch_cpu = sum(cpu_seconds(pid) for pid in {root} | descendants(root)) if root else None
        time.sleep(2)  # let the page settle before weighing it
        open_pss, open_count = app.tree_pss()
        figures += [
            Figure("desktop_launch_s", "launch → dashboard visible", launch, "s"),
            Figure(
                "desktop_launch_cpu_s",
                "CPU of the app's processes until visible",
                launch_cpu,
                "s",
                note="what a launch costs when it gets the cores to itself (2 cores here)",
            ),
            Figure(
                "desktop_open_pss_mib",
                "app tree PSS, window open",
                open_pss,
                "MiB",
                note=f"{open_count} processes",
            ),
        ]
        reopen_times: list[float] = []
        reopen_cpu: list[float] = []
        back_times: list[float] = []
        closed: list[float] = []
        for _ in range(reopens):
            xd.close_window(wid)
            closed_at = time.monotonic()
            wait("tree under budget", lambda: app.tree_pss()[0] <= CLOSED_BUDGET_MIB, 30)
            back_times.append(time.monotonic() - closed_at)
            wait("closed window", lambda: app.rendered(shot) is None, 30)
            time.sleep(1)
            closed.append(app.tree_pss()[0])
            asked = time.monotonic()
            ring(app.data_dir / "desktop" / "app.json", "show")
            wid = wait("reopened dashboard", lambda: app.rendered(shot), 60)
            reopen_times.append(time.monotonic() - asked)
            reopen_cpu.append(app.window_cpu())
        closed_count = app.tree_pss()[1]
        steps = log_steps(workdir / "app.log")[1:]  # the reopens (the first is the launch)
        figures += [
            Figure(
                "desktop_closed_pss_mib",
                "app tree PSS, window closed",
                max(closed),
                "MiB",
                note=f"max of {len(closed)} closes: " + ", ".join(f"{v:.0f}" for v in closed),
            ),
            Figure(
                "desktop_close_back_s",
                "close → tree ≤ 150 MiB",
                max(back_times),
                "s",
                note="max; each: " + ", ".join(f"{v:.2f}" for v in back_times),
            ),
            Figure(
                "desktop_reopen_s",
                f"reopen → dashboard visible (median of {len(reopen_times)})",
                statistics.median(reopen_times),
                "s",
                note="each: "
                + ", ".join(f"{v:.2f}" for v in reopen_times)
                + f"; {closed_count} processes with the window open",
            ),
            Figure(
                "desktop_reopen_loaded_s",
                "reopen: window process start → page loaded (app log, median)",
                statistics.median(loaded for _, loaded in steps) if steps else None,
                "s",
                note="shown → loaded each: "
                + ", ".join(f"{shown:.2f} → {loaded:.2f}" for shown, loaded in steps),
            ),
            Figure(
                "desktop_reopen_cpu_s",
                "CPU of the new window's processes until visible (median)",
                statistics.median(reopen_cpu),
                "s",
                note="what a reopen costs when it gets the cores to itself; each: "
                + ", ".join(f"{v:.2f}" for v in reopen_cpu),
            ),
        ]
    finally:
        app.stop()
        xd.stop()
    return figures


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reopen", type=int, help="times the window is closed and reopened (5)")
    parser.add_argument("--backend", default="gtk", help="pystray backend (gtk, appindicator)")


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    reopens = args.reopen or (2 if args.quick else 5)
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sp-bench-desktop-") as tmp:
        figures = attempt(errors, "desktop", lambda: measure(Path(tmp), args.backend, reopens))
    print_table("desktop window", figures or [], errors)
    write_json(args.json, "desktop_window", figures or [], errors=errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
