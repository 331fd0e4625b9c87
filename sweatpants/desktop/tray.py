"""The tray icon and its menu (pystray).

The icon's look follows the daemon (idle / running / failed since the last look) and its
title carries the counts: the title is the tooltip where the platform has one, and on X11
it is also the name of the docked icon window. The icon's loop owns the main thread of the
tray process (the dashboard window is a process of its own). Menu callbacks run on it; every
action is handed to one worker thread, so a slow action (Quit waits for jobs to checkpoint)
never freezes the menu or the window.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sweatpants.desktop.icons import TrayState, tray_image
from sweatpants.desktop.watch import TraySnapshot

log = logging.getLogger(__name__)

QUIT_OWNED = "Quit Sweatpants (stops jobs)"
QUIT_FOREIGN = "Quit tray (engine keeps running)"


@dataclass(frozen=True)
class TrayActions:
    """What the menu items do; each runs on the tray's worker thread."""

    open_dashboard: Callable[[], None]
    toggle_autostart: Callable[[], None]
    autostart_enabled: Callable[[], bool]
    open_data_folder: Callable[[], None]
    quit: Callable[[], None]


class ActionRunner:
    """One worker thread running queued actions in order; logs what fails."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sweatpants-actions", daemon=True)
        self._thread.start()

    def submit(self, action: Callable[[], None]) -> None:
        self._queue.put(action)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            action = self._queue.get()
            if action is None:
                return
            try:
                action()
            except Exception:
                log.exception("desktop: tray action failed")


class Tray:
    """The pystray icon: build it, start it detached, update it from any thread."""

    def __init__(self, actions: TrayActions, owns_engine: bool) -> None:
        import pystray

        self._pystray = pystray
        self._actions = actions
        self._runner = ActionRunner()
        self._snapshot = TraySnapshot()
        self._stopping = False
        self._shown_once = False
        self._quit_label = QUIT_OWNED if owns_engine else QUIT_FOREIGN
        self.icon: Any = pystray.Icon(
            "sweatpants",
            icon=tray_image(TrayState.IDLE),
            title=self._snapshot.tooltip,
            menu=self._menu(),
        )

    @property
    def backend(self) -> str:
        return str(type(self.icon).__module__)

    def _menu(self) -> Any:
        item, menu = self._pystray.MenuItem, self._pystray.Menu
        return menu(
            item("Open dashboard", self._later(self._actions.open_dashboard), default=True),
            item(lambda _: self._status_text(), None, enabled=False),
            item(
                lambda _: self._snapshot.next_run,
                None,
                enabled=False,
                visible=lambda _: bool(self._snapshot.next_run) and not self._stopping,
            ),
            menu.SEPARATOR,
            item(
                "Start at login",
                self._later(self._actions.toggle_autostart),
                checked=lambda _: self._autostart_checked(),
            ),
            item("Open data folder", self._later(self._actions.open_data_folder)),
            menu.SEPARATOR,
            item(lambda _: self._quit_label, self._later(self._actions.quit)),
        )

    def _status_text(self) -> str:
        return "Stopping..." if self._stopping else self._snapshot.status_line

    def _autostart_checked(self) -> bool:
        try:
            return self._actions.autostart_enabled()
        except Exception:
            log.exception("desktop: cannot read the start-at-login setting")
            return False

    def _later(self, action: Callable[[], None]) -> Callable[[Any, Any], None]:
        def on_click(_icon: Any, _item: Any) -> None:
            self._runner.submit(action)

        return on_click

    def run(self, on_started: Callable[[], None]) -> None:
        """Show the icon and block in its loop (the main thread's) until `stop()`;
        `on_started` runs in a thread once the icon is up."""

        def setup(icon: Any) -> None:
            icon.visible = True
            _quiet_notifier(icon)
            log.info("desktop: tray icon started (backend %s)", self.backend)
            on_started()

        self.icon.run(setup=setup)

    def submit(self, action: Callable[[], None]) -> None:
        self._runner.submit(action)

    def show_snapshot(self, snapshot: TraySnapshot) -> None:
        """Redraw for new counts (called from the watcher thread)."""
        if self._stopping:
            return
        previous, self._snapshot = self._snapshot, snapshot
        if previous.state is not snapshot.state:
            self.icon.icon = tray_image(snapshot.state)
        if previous != snapshot or not self._shown_once:
            self._shown_once = True
            self._set_title(snapshot.tooltip)
            log.info("desktop: tray state=%s title=%r", snapshot.state.value, snapshot.tooltip)

    def show_stopping(self) -> None:
        self._stopping = True
        self._set_title("Sweatpants: stopping...")
        log.info("desktop: tray state=stopping title='Sweatpants: stopping...'")

    def refresh_menu(self) -> None:
        self.icon.update_menu()

    def _set_title(self, title: str) -> None:
        self.icon.title = title
        self.icon.update_menu()
        _set_gtk_tooltip(self.icon, title)

    def stop(self) -> None:
        self._runner.close()
        try:
            self.icon.stop()
        except Exception:
            log.debug("desktop: tray icon stop failed", exc_info=True)


def _set_gtk_tooltip(icon: Any, text: str) -> None:
    """pystray's gtk backend sets only the title; give GtkStatusIcon a real tooltip too."""
    status_icon = getattr(icon, "_status_icon", None)
    if status_icon is None:
        return
    from gi.repository import GLib

    def apply() -> bool:
        status_icon.set_tooltip_text(text)
        return False

    GLib.idle_add(apply)


class _QuietNotifierProxy:
    """pystray hides its last notification at exit and raises if no service runs: swallow."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def notify(self, *args: Any) -> None:
        try:
            self._inner.notify(*args)
        except Exception as exc:
            log.debug("desktop: notification not shown: %s", exc)

    def hide(self) -> None:
        try:
            self._inner.hide()
        except Exception as exc:
            log.debug("desktop: notification not hidden: %s", exc)


def _quiet_notifier(icon: Any) -> None:
    inner = getattr(icon, "_notifier", None)
    if inner is not None:
        icon._notifier = _QuietNotifierProxy(inner)
