"""The desktop app in GUI mode: tray + status watcher around one engine; the dashboard window
is a process of its own, started when the user opens it and gone when they close it.

Threads and loops:
- main thread: the tray's loop (`pystray.Icon.run`: GLib on Linux, the system's own on
  Windows and macOS) until Quit.
- `sweatpants-server`: the daemon (uvicorn + engine) when the app started it itself.
- `sweatpants-watch`: polls `/status` once a second and redraws the tray.
- `sweatpants-actions`: runs menu actions in order (Quit waits for jobs to checkpoint here,
  while the tray shows "stopping").
- `sweatpants-doorbell`: answers a second launch by opening the window.
- `sweatpants-window`: reads what the window process reports while it runs.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from sweatpants.config import Settings
from sweatpants.desktop.autostart import Autostart
from sweatpants.desktop.backend import GuiSupport
from sweatpants.desktop.daemon import EngineLink
from sweatpants.desktop.instance import Doorbell, desktop_dir
from sweatpants.desktop.notify import Notifier
from sweatpants.desktop.tray import Tray, TrayActions
from sweatpants.desktop.watch import Watcher
from sweatpants.desktop.window_process import CLOSED, DashboardWindow

log = logging.getLogger(__name__)

EXTRA_STOP_SECONDS = 10.0


def dashboard_url(link: EngineLink) -> str:
    return link.url + "/" + (f"#token={link.token}" if link.token else "")


def stop_timeout(settings: Settings) -> float:
    """How long Quit waits for the server: the jobs' grace plus time to close up."""
    return settings.stop_grace_seconds + EXTRA_STOP_SECONDS


def open_folder(path: Path) -> None:
    """Show `path` in the platform's file manager."""
    path.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined,unused-ignore]
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.run([opener, str(path)], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("desktop: cannot open %s with %s: %s", path, opener, exc)


class DesktopApp:
    """Wires the tray, the window, the watcher and the doorbell to one engine link."""

    def __init__(
        self,
        settings: Settings,
        link: EngineLink,
        gui: GuiSupport,
        hidden: bool = False,
        prestarted: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.settings = settings
        self.link = link
        self.gui = gui
        self.autostart = Autostart()
        self._quit_started = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()
        self.hidden = hidden
        self.window = DashboardWindow(
            dashboard_url(link),
            storage_path=desktop_dir(settings.data_dir) / "webview",
            gui=gui.webview_gui,
            on_event=self._on_window_event,
            prestarted=prestarted,
        )
        self.tray = Tray(
            TrayActions(
                open_dashboard=self.open_dashboard,
                toggle_autostart=self.toggle_autostart,
                autostart_enabled=self.autostart.is_enabled,
                open_data_folder=lambda: open_folder(settings.data_dir),
                quit=self.quit,
            ),
            owns_engine=link.owned,
        )
        self.notifier = Notifier(self.tray.icon)
        self.watcher = Watcher(
            link.url,
            link.headers(),
            on_snapshot=self.tray.show_snapshot,
            on_ended=self.notifier.job_ended,
        )
        self.doorbell = Doorbell(
            desktop_dir(settings.data_dir) / "app.json",
            on_command=lambda _command: self.tray.submit(self.open_dashboard),
        )

    def run(self) -> int:
        """Block in the tray's loop until Quit (or SIGINT/SIGTERM); then stop everything."""
        previous = signal.signal(signal.SIGTERM, self._on_signal)
        self.doorbell.start()
        if not self.hidden:
            self.window.open()
        try:
            self.tray.run(on_started=self._on_started)
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._close()
        return 0

    def _on_started(self) -> None:
        self.watcher.start()
        log.info("desktop: ready; dashboard at %s", self.link.url)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("desktop: signal %s received; quitting", signum)
        self.tray.submit(self.quit)

    def _on_window_event(self, event: str) -> None:
        if event == "shown":
            log.info("desktop: dashboard window shown")
            self.watcher.mark_seen()
        elif event == "loaded":
            log.info("desktop: dashboard loaded")
        elif event == CLOSED:
            log.info("desktop: dashboard window closed")

    def open_dashboard(self) -> None:
        self.window.open()
        self.watcher.mark_seen()

    def toggle_autostart(self) -> None:
        enabled = not self.autostart.is_enabled()
        self.autostart.set_enabled(enabled)
        log.info("desktop: start at login %s", "enabled" if enabled else "disabled")
        self.tray.refresh_menu()

    def quit(self) -> None:
        """Stop the engine (jobs checkpoint within the grace) while the tray says so, then
        end the GUI loop."""
        if self._quit_started.is_set():
            return
        self._quit_started.set()
        log.info("desktop: quitting")
        self.tray.show_stopping()
        self.window.close()
        self._close()

    def _close(self) -> None:
        """Everything but the GUI loop; safe to call twice (Quit, then after the loop)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self.watcher.stop()
            self.doorbell.stop()
            self.window.close()
            owned = self.link.owned
            try:
                self.link.stop(stop_timeout(self.settings))
            except Exception:
                log.exception("desktop: the engine did not stop cleanly")
            log.info("desktop: engine stopped" if owned else "desktop: engine left running")
            self.tray.stop()
