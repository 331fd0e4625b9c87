"""The desktop app under a real X server: Xvfb, trayer as the tray host, a D-Bus session.

One scenario, step by step, as a person would use the app: launch (window and tray icon
appear), close the window (its process ends and the app, still in the tray, is back within
its memory budget), right-click the icon (menu), "Open
dashboard", a job changes the icon, a second launch shows the window instead of starting a
second daemon, Quit stops everything and frees the port; the job resumes on the next start.
Screenshots land in the test's tmp dir (`screens/`). Launch time and memory are printed.
"""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sweatpants.desktop.icons import BACKGROUND, TrayState
from tests.support.daemon import RunningDaemon, alive, descendants, free_port, port_is_free
from tests.support.modules import write_module
from tests.support.notifications import session_config
from tests.support.sample_modules import CHECKPOINTING, RAISES
from tests.support.xdisplay import (
    Window,
    XDisplay,
    distinct_colours,
    session_command,
    share_near,
    start_xdisplay,
    wait_for,
)

pytestmark = [pytest.mark.desktop, pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
WINDOW_TITLE = "Sweatpants"
TRAY_PREFIX = "Sweatpants:"
TOKEN = "desk-token-4711"
# Budgets hold on a loaded 2-core machine; each wait returns as soon as its condition holds.
MENU_BUDGET = 120.0
MENU_CLICKS = 4
MENU_STEP_WAIT = 20.0
MENU_HIGHLIGHT = (53, 132, 228)  # the GTK theme's selected menu item


GUI_INSTALL = (
    "apt-get install -y libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0 "
    "gir1.2-ayatanaappindicator3-0.1 gir1.2-webkit2-4.1 && pip install -e '.[gui]'"
)
# The app's whole process tree with the window closed (tray + daemon + idle job runners).
CLOSED_BUDGET_MIB = 150.0
BACK_WITHIN_SECONDS = 5.0


def require_gui_stack(backend: str) -> None:
    """Fail loudly, with the install line, when the app could only run headless here."""
    problems = []
    if importlib.util.find_spec("webview") is None:
        problems.append("pywebview is not installed")
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        gi.require_version("WebKit2", "4.1")  # the window's engine on Linux
        if backend == "appindicator":
            gi.require_version("AyatanaAppIndicator3", "0.1")
    except (ImportError, ValueError) as exc:
        problems.append(f"PyGObject or a GI typelib is missing ({exc})")
    if problems:
        raise RuntimeError(f"desktop test cannot run: {'; '.join(problems)}. {GUI_INSTALL}")


@pytest.fixture
def xdisplay(tmp_path: Path) -> Iterator[XDisplay]:
    display = start_xdisplay(tmp_path / "x", width=1600, height=1000)
    yield display
    display.stop()


class App:
    """The app under test: `dbus-run-session -- python -m sweatpants app` on a display."""

    def __init__(
        self, xd: XDisplay, data_dir: Path, port: int, log_path: Path, backend: str
    ) -> None:
        self.xd = xd
        self.backend = backend
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.seen_pids: dict[int, str] = {}
        self.notifications = log_path.parent / "notifications.jsonl"
        self.bus_config = session_config(log_path.parent / "bus", self.notifications)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        env.update(
            SWEATPANTS_DATA_DIR=str(self.data_dir),
            SWEATPANTS_API_PORT=str(self.port),
            SWEATPANTS_STOP_GRACE_SECONDS="2",
            SWEATPANTS_API_AUTH_TOKEN=TOKEN,  # the window must hand it to the dashboard
            XDG_CONFIG_HOME=str(self.data_dir.parent / "config"),
            PYSTRAY_BACKEND=self.backend,
            PYTHONUNBUFFERED="1",
        )
        return self.xd.env(env)

    def command(self) -> list[str]:
        argv = [sys.executable, "-m", "sweatpants", "app"]
        return session_command(argv, config=self.bus_config)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tree(self) -> set[int]:
        """The session wrapper and everything below it; remembered for the final check."""
        pids = {self.pid} | descendants(self.pid)
        for pid in pids:
            # Keep the latest command line: a child seen between fork and exec changes it.
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmdline:
                self.seen_pids[pid] = cmdline
        return pids

    def app_pid(self) -> int | None:
        """The Python process of the app: the session wrapper's child running `sweatpants app`
        (read fresh: a child between fork and exec still shows its parent's command line)."""
        for pid in descendants(self.pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            argv = cmdline.split("\0")[:4]
            if parent == self.pid and argv == [sys.executable, "-m", "sweatpants", "app"]:
                return pid
        return None

    def window_pid(self) -> int | None:
        """The dashboard window's process (`python -m sweatpants.desktop.window`), a child of
        the app, while it runs."""
        app_pid = self.app_pid()
        for pid in descendants(app_pid) if app_pid is not None else set():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmdline.split("\0")[:3] == [sys.executable, "-m", "sweatpants.desktop.window"]:
                return pid
        return None

    def memory(self) -> dict[str, float]:
        """RSS and PSS (MiB) of the app's process tree, without the D-Bus session."""
        app_pid = self.app_pid()
        assert app_pid is not None
        total = {"rss": 0.0, "pss": 0.0, "processes": 0.0}
        for pid in {app_pid} | descendants(app_pid):
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            total["processes"] += 1
            for line in rollup.splitlines():
                key, _, value = line.partition(":")
                if key in {"Rss", "Pss"}:
                    total[key.lower()] += int(value.split()[0]) / 1024
        return total

    def stop(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for pid in self.seen_pids:
            if alive(pid) and pid_matches(pid, self.seen_pids[pid]):
                os.kill(pid, signal.SIGKILL)


def within_budget(app: App) -> dict[str, float] | None:
    """The app tree's memory once its PSS is within the window-closed budget."""
    memory = app.memory()
    return memory if memory["pss"] <= CLOSED_BUDGET_MIB else None


MILESTONES = {
    "desktop: starting": "starting",
    "desktop: daemon started": "daemon ready",
    "desktop: tray icon started": "tray",
    "desktop: dashboard window shown": "window shown",
    "desktop: dashboard loaded": "page loaded",
}


def timeline(log: str) -> str:
    """Seconds from the app's first log line to each start-up milestone it logged."""
    stamps: dict[str, datetime.datetime] = {}
    for line in log.splitlines():
        for marker, label in MILESTONES.items():
            if marker in line and label not in stamps:
                stamps[label] = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    if "starting" not in stamps:
        return "no timeline in the log"
    zero = stamps["starting"]
    return ", ".join(f"{label} +{(at - zero).total_seconds():.2f}s" for label, at in stamps.items())


def pid_matches(pid: int, cmdline: str) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") == cmdline
    except OSError:
        return False


def dashboard_window(xd: XDisplay) -> Window | None:
    for window in xd.windows():
        if window.name == WINDOW_TITLE and window.width >= 400 and mapped(xd, window.wid):
            return window
    return None


def dashboard_rendered(xd: XDisplay, path: Path) -> Window | None:
    """The window, once it is mapped and shows the dashboard (not a blank page)."""
    window = dashboard_window(xd)
    if window is None:
        return None
    xd.screenshot(path, window.wid)
    with Image.open(path) as image:
        # A blank or loading page is one or two colours; the dashboard has text, icons, cards.
        if distinct_colours(image) < 150:
            return None
    return window


def tray_icon(xd: XDisplay) -> Window | None:
    """The docked icon: the window named by its title (AppIndicator's X11 fallback names it
    after the title), else the innermost window docked in the tray (GTK status icon)."""
    docked = xd.tray_children()
    for icon in docked:
        if icon.name.startswith(TRAY_PREFIX):
            return icon
    return docked[-1] if docked else None


def tray_title(xd: XDisplay, app: App) -> str:
    """The icon's title (its tooltip): from X when the backend names the icon window after
    it, else from the app's log line for the latest tray change."""
    icon = tray_icon(xd)
    if icon is not None and icon.name.startswith(TRAY_PREFIX):
        return icon.name
    titles = re.findall(r"tray state=\w+ title='([^']*)'", app.log())
    return titles[-1] if titles else ""


def icon_state(xd: XDisplay, screens: Path, name: str) -> TrayState | None:
    """Which state's colour dominates the docked icon's pixels."""
    icon = tray_icon(xd)
    if icon is None:
        return None
    shot = xd.screenshot(screens / f"{name}-root.png")
    with Image.open(shot) as image:
        crop = image.crop((icon.x, icon.y, icon.x + icon.width, icon.y + icon.height))
        crop.save(screens / f"{name}-icon.png")
        shares = {state: share_near(crop, BACKGROUND[state]) for state in TrayState}
    best = max(shares, key=lambda state: shares[state])
    return best if shares[best] > 0.2 else None


def open_menu(xd: XDisplay, screens: Path, name: str) -> Window:
    """Right-click the tray icon; return the menu window once it is mapped and painted.

    On a busy machine a right-click can come to nothing: the app misses it, or maps its menu
    and takes it down again before painting it (it rebuilds the menu when its counts change).
    Then Escape closes whatever is half open and the icon is clicked again, a few times within
    MENU_BUDGET; each wait ends as soon as its condition holds."""
    deadline = time.monotonic() + MENU_BUDGET
    outcome = "the icon was not clicked"
    for attempt in range(1, MENU_CLICKS + 1):
        icon = wait_for("the tray icon", lambda: tray_icon(xd), timeout=30)
        before = {w.wid for w in xd.windows() if mapped(xd, w.wid)}
        xd.click(*icon.center, button=3)
        wait = max(1.0, min(MENU_STEP_WAIT, deadline - time.monotonic()))
        try:
            found = wait_for("the tray menu to open", partial(new_menu, xd, before), wait)
        except TimeoutError:
            outcome = f"no menu window was mapped within {wait:.0f}s"
        else:
            try:
                shown = wait_for(
                    "the tray menu painted beside the icon, or taken down",
                    partial(painted_menu, xd, found, icon, screens / name),
                    timeout=max(1.0, min(MENU_STEP_WAIT, deadline - time.monotonic())),
                )
            except TimeoutError:
                outcome = "a menu window was mapped, then not painted beside the icon"
            else:
                if isinstance(shown, Window):
                    return shown
                outcome = "a menu window was mapped, then taken down unpainted"
        print(f"{name}: right-click {attempt} on the tray icon: {outcome}")
        if time.monotonic() >= deadline:
            break
        xd.run("xdotool", "key", "Escape")
    shot = xd.screenshot(screens / f"{name}-no-menu.png")
    raise TimeoutError(
        f"the tray menu did not open after {attempt} right-clicks on the icon at {icon.center} "
        f"within {MENU_BUDGET:.0f}s; the last time {outcome}; screenshot: {shot}"
    )


def new_menu(xd: XDisplay, before: set[str]) -> Window | None:
    """A menu-sized window mapped since `before` was taken (not the dashboard)."""
    for window in xd.windows():
        big = window.width >= 100 and window.height >= 60
        new = big and window.wid not in before and window.name != WINDOW_TITLE
        if new and mapped(xd, window.wid):
            return window
    return None


def mapped(xd: XDisplay, wid: str) -> bool:
    """Whether the window is on screen; a menu the app dropped is destroyed, not unmapped."""
    try:
        return xd.is_viewable(wid)
    except RuntimeError:  # xwininfo: no such window
        return False


def painted_menu(xd: XDisplay, menu: Window, icon: Window, shot: Path) -> Window | str | None:
    """The menu's geometry once it shows light items with dark text right beside the icon;
    "taken down" if the menu window is no longer mapped."""
    if not mapped(xd, menu.wid):
        return "taken down"
    where = xd.geometry(menu.wid)  # GTK maps the menu, then moves it beside the icon
    xd.screenshot(shot.with_suffix(".png"))
    with Image.open(shot.with_suffix(".png")) as image:
        box = image.crop((where.x, where.y, where.x + where.width, where.y + where.height))
        box.save(shot.with_name(f"{shot.name}-crop.png"))
        light = share_near(box, (255, 255, 255), tolerance=60)
        dark = share_near(box, (40, 40, 40), tolerance=150)
        ok = distinct_colours(box) > 20 and light > 0.5 and dark > 0.01
    near_icon = abs(where.x + where.width - icon.x - icon.width) < 300 and where.y < 100
    return where if ok and near_icon else None


def choose(xd: XDisplay, screens: Path, name: str, item: Callable[[Window], int]) -> None:
    """Open the tray menu and click its item at height `item(menu)`.

    The pointer goes to the item first and the click waits until the menu highlights it: GTK
    activates an item on release only once the pointer's arrival has selected it, and a busy
    app that sees the click first takes it for a click beside the items and closes the menu.
    The app rebuilds its menu when its counts change, which closes an open menu; a menu that
    closes before its item is highlighted is opened again."""
    for attempt in range(1, MENU_CLICKS + 1):
        menu = open_menu(xd, screens, name)
        y = item(menu)
        if point_at(xd, menu, y, screens / f"{name}-hover.png") == "highlighted":
            xd.run("xdotool", "click", "1")
            return
        print(f"{name}: the menu closed before its item at y={y} was highlighted ({attempt})")
    raise AssertionError(f"the tray menu closed {MENU_CLICKS} times before an item was chosen")


def point_at(xd: XDisplay, menu: Window, y: int, shot: Path) -> str:
    """Move the pointer onto the menu's row at height `y`: "highlighted" once the menu shows
    that row selected, "closed" if the menu goes away first."""
    x = menu.x + menu.width // 2
    moves = itertools.count()

    def probe() -> str | None:
        if not mapped(xd, menu.wid):
            return "closed"
        # Each probe moves the pointer a pixel, so the app always has a fresh motion to see.
        xd.run("xdotool", "mousemove", str(x + next(moves) % 2), str(y))
        xd.screenshot(shot)
        with Image.open(shot) as image:
            row = image.crop((menu.x + 4, y - 6, menu.x + menu.width - 4, y + 6))
            selected = share_near(row, MENU_HIGHLIGHT, tolerance=60) > 0.4
        return "highlighted" if selected else None

    return wait_for(f"the menu row at y={y} to be highlighted", probe, timeout=30, interval=0.2)


def write_modules(modules_dir: Path) -> None:
    write_module(
        modules_dir,
        "slow",
        CHECKPOINTING,
        inputs=[
            {"id": "n", "type": "integer", "required": True},
            {"id": "every", "type": "integer", "required": True},
            {"id": "delay", "type": "number", "required": True},
        ],
    )
    write_module(modules_dir, "boom", RAISES)


@pytest.mark.parametrize("backend", ["appindicator", "gtk"])
def test_tray_app(xdisplay: XDisplay, tmp_path: Path, backend: str) -> None:
    """`appindicator` is what GNOME/KDE users get (on X11 without an indicator host it
    falls back to an XEmbed icon); `gtk` is the plain XEmbed status icon (XFCE, MATE...)."""
    require_gui_stack(backend)
    xd = xdisplay
    screens = tmp_path / "screens"
    screens.mkdir()
    data_dir = tmp_path / "data"
    write_modules(data_dir / "modules")
    app = App(xd, data_dir, free_port(), tmp_path / "app.log", backend)
    started = time.monotonic()
    app.start()
    # Closed however the scenario ends: a failed run must not leave its socket for the
    # garbage collector to find during a later test (an unraisable ResourceWarning there).
    with httpx.Client(
        base_url=app.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as client:
        try:
            scenario(app, client, xd, screens, started)
        except BaseException:
            print("---- app log ----\n" + app.log()[-8000:])
            print("---- X windows (xwininfo -root -tree) ----\n" + xd.describe())
            try:
                print(f"screen at the failure: {xd.screenshot(screens / '99-failure.png')}")
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                print(f"no screenshot at the failure: {exc}")
            print(f"screenshots: {screens}")
            raise
        finally:
            app.stop()


def scenario(app: App, client: httpx.Client, xd: XDisplay, screens: Path, started: float) -> None:
    def check_alive() -> None:
        assert app.running(), f"the app exited with {app.process and app.process.returncode}"
        app.tree()

    # 1. Launch: the dashboard window shows the rendered dashboard; the icon docks.
    def rendered() -> Window | None:
        check_alive()
        return dashboard_rendered(xd, screens / "01-window.png")

    window = wait_for("the dashboard window to show the dashboard", rendered, timeout=90)
    launch_seconds = time.monotonic() - started
    xd.screenshot(screens / "01-launched.png")
    # The window is a process of its own, below the app (the tray process).
    window_pid = app.window_pid()
    assert window_pid is not None and xd.window_pid(window.wid) == window_pid
    # Its URL and token came on its stdin: nothing on a command line other users can read.
    assert TOKEN not in Path(f"/proc/{window_pid}/cmdline").read_text(errors="replace")
    wait_for("the tray icon to dock", lambda: tray_icon(xd), timeout=30)
    idle = "Sweatpants: Idle (0 running)"
    wait_for("the idle title", lambda: tray_title(xd, app) == idle, timeout=30)
    assert icon_state(xd, screens, "02-idle") is TrayState.IDLE
    assert httpx.get(app.url + "/status", timeout=10).status_code == 401
    assert client.get("/status").json()["engine"] == "sweatpants"
    memory = app.memory()
    print(
        f"\nlaunch to dashboard visible: {launch_seconds:.2f} s; memory of the app tree "
        f"with the window open ({memory['processes']:.0f} processes): RSS "
        f"{memory['rss']:.0f} MiB, PSS {memory['pss']:.0f} MiB\napp timeline: {timeline(app.log())}"
    )

    # 2. Closing the window ends its process; the app stays in the tray, and its whole tree
    # is back within its budget in a few seconds.
    xd.close_window(window.wid)
    closed_at = time.monotonic()
    try:
        closed = wait_for(
            f"the app tree's PSS to be <= {CLOSED_BUDGET_MIB:.0f} MiB",
            partial(within_budget, app),
            timeout=BACK_WITHIN_SECONDS,
        )
    except TimeoutError:
        raise AssertionError(
            f"{BACK_WITHIN_SECONDS:.0f}s after the window was closed the app tree still has "
            f"PSS {app.memory()['pss']:.0f} MiB (window process: {app.window_pid()})"
        ) from None
    print(
        f"window closed: app tree back to PSS {closed['pss']:.0f} MiB ({closed['processes']:.0f} "
        f"processes) {time.monotonic() - closed_at:.2f} s after the close"
    )
    wait_for("the window to go", lambda: dashboard_window(xd) is None, timeout=30)
    assert app.window_pid() is None
    check_alive()
    assert tray_icon(xd) is not None
    xd.screenshot(screens / "03-closed.png")

    # 3. Right-click: the menu. "Open dashboard" (its first item) shows the window again.
    choose(xd, screens, "04-menu", lambda menu: menu.y + 16)
    wait_for(
        "the window to come back",
        lambda: dashboard_rendered(xd, screens / "05-reopened.png"),
        timeout=40,
    )

    # 4. "Start at login" (third item; keyboard: the status line is skipped) writes the entry.
    autostart = app.data_dir.parent / "config" / "autostart" / "sweatpants.desktop"
    assert not autostart.exists()
    open_menu(xd, screens, "06-menu")
    xd.run("xdotool", "key", "Down", "Down", "Return")
    wait_for("the XDG autostart entry", autostart.is_file, timeout=30)
    assert "sweatpants.desktop --hidden" in autostart.read_text()

    # 5. A job started through the API turns the icon to "running"; a failure turns it red.
    slow = client.post(
        "/jobs", json={"module_id": "slow", "inputs": {"n": 100000, "every": 5, "delay": 0.05}}
    ).json()["id"]
    wait_for("the tray title to count the job", lambda: "1 running" in tray_title(xd, app), 30)
    wait_for(
        "the running look",
        lambda: icon_state(xd, screens, "07-running") is TrayState.RUNNING,
        timeout=30,
    )
    boom = client.post("/jobs", json={"module_id": "boom"}).json()["id"]
    wait_for("the failure in the title", lambda: "1 failed" in tray_title(xd, app), timeout=30)
    wait_for(
        "the failed look",
        lambda: icon_state(xd, screens, "08-failed") is TrayState.FAILED,
        timeout=30,
    )
    assert client.get(f"/jobs/{boom}").json()["status"] == "failed"
    assert "tray state=failed" in app.log()
    assert f"backend pystray._{app.backend}" in app.log()
    # The failure was announced through the session's notification service.
    wait_for(
        "a notification about the failed job",
        lambda: (
            "boom failed" in app.notifications.read_text() if app.notifications.exists() else False
        ),
        timeout=30,
    )

    # 6. A second launch shows the hidden window and starts no second daemon.
    shown = dashboard_window(xd)
    assert shown is not None
    xd.close_window(shown.wid)
    wait_for("the window to hide", lambda: dashboard_window(xd) is None, timeout=30)
    daemon_file = app.data_dir / "daemon.json"
    assert json.loads(daemon_file.read_text())["pid"] == app.app_pid()
    second = subprocess.run(
        app.command(), cwd=ROOT, env=app.env(), capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    assert "daemon started" not in second.stderr
    wait_for(
        "the window shown by the second launch",
        lambda: dashboard_rendered(xd, screens / "09-second-launch.png"),
        timeout=40,
    )
    check_alive()
    assert json.loads(daemon_file.read_text())["pid"] == app.app_pid()
    # Looking at the dashboard clears the failed look; the slow job still runs.
    wait_for("the running look after a look", lambda: "failed" not in tray_title(xd, app), 30)
    assert "1 running" in tray_title(xd, app)
    checkpointed = client.get(f"/jobs/{slow}").json()
    assert checkpointed["status"] == "running"

    # 7. Quit (last menu item) stops the engine: process gone, port free, nothing left.
    pids = app.tree()
    choose(xd, screens, "10-quit-menu", lambda menu: menu.y + menu.height - 16)
    quit_clicked = time.monotonic()
    assert app.process is not None
    code = app.process.wait(60)
    quit_seconds = time.monotonic() - quit_clicked
    print(f"quit to process gone: {quit_seconds:.2f} s")
    assert code == 0, app.log()[-4000:]
    assert port_is_free(app.port)

    def left() -> list[str]:
        return [
            f"{pid} {cmd[:120]}"
            for pid, cmd in app.seen_pids.items()
            if pid in pids and alive(pid) and pid_matches(pid, cmd)
        ]

    # Helpers (the job forkserver, QtWebEngine) notice their parent is gone and end too.
    try:
        wait_for("every process of the app to end", lambda: not left(), timeout=30)
    except TimeoutError:
        raise AssertionError(f"processes of the app still running: {left()}") from None
    print(f"quit to whole process tree gone: {time.monotonic() - quit_clicked:.2f} s")
    assert "desktop: engine stopped" in app.log()

    # 8. The job that was running resumes on the next start, from its checkpoint.
    daemon = RunningDaemon(app.data_dir, token=TOKEN).start()
    try:
        resumed = daemon.wait_job(slow, {"running"}, timeout=30)
        assert resumed["resumes"] >= 1
        daemon.client().post(f"/jobs/{slow}/stop")
        daemon.wait_job(slow, timeout=30)
    finally:
        daemon.stop()
