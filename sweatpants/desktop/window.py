"""The dashboard window: pywebview on the daemon's URL; closing it hides it to the tray.

pywebview's loop (`webview.start`) must own the main thread; `show()`, `hide()` and
`destroy()` may be called from any thread (pywebview hands them to the GUI thread). The
window is created once, hidden or shown, and lives until Quit: closing it only hides it,
so opening it again is instant and keeps the dashboard's state.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweatpants.desktop.icons import app_icon_path

log = logging.getLogger(__name__)

TITLE = "Sweatpants"
APP_NAME = "sweatpants"


def prepare_qt_environment() -> None:
    """QtWebEngine refuses to start as root unless its sandbox is off."""
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if is_root and "--no-sandbox" not in flags:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


class DashboardWindow:
    """One pywebview window on the dashboard; `on_shown` runs each time it is shown."""

    def __init__(
        self,
        url: str,
        storage_path: Path,
        on_shown: Callable[[], None],
        hidden: bool = False,
    ) -> None:
        self.url = url
        self.storage_path = storage_path
        self._on_shown = on_shown
        self._hidden = hidden
        self._quitting = threading.Event()
        self._window: Any = None
        self._skip_shown = hidden

    def create(self) -> None:
        import webview

        self._window = webview.create_window(
            TITLE,
            self.url,
            width=1200,
            height=800,
            min_size=(480, 360),
            hidden=self._hidden,
            background_color="#FFFFFF",
            text_select=True,
        )
        self._window.events.closing += self._on_closing
        self._window.events.loaded += self._on_loaded
        self._window.events.shown += self._on_window_shown

    def run(self, gui: str | None, on_started: Callable[[], None]) -> None:
        """Block in the GUI loop until `destroy()`; `on_started` runs in a new thread."""
        import webview

        if gui == "qt":
            prepare_qt_environment()
        icon = app_icon_path()
        self.storage_path.mkdir(parents=True, exist_ok=True)
        # Qt names the app (X11 WM_CLASS, what desktops match launchers by) after argv[0].
        argv0 = sys.argv[0] if sys.argv else ""
        if sys.argv:
            sys.argv[0] = APP_NAME
        try:
            webview.start(
                on_started,
                gui=gui,  # type: ignore[arg-type]
                private_mode=False,
                storage_path=str(self.storage_path),
                icon=str(icon) if icon else None,
            )
        finally:
            if sys.argv:
                sys.argv[0] = argv0

    def show(self) -> None:
        if self._window is None or self._quitting.is_set():
            return
        self._window.show()

    def hide(self) -> None:
        if self._window is not None:
            self._window.hide()
            log.info("desktop: dashboard window hidden")

    def destroy(self) -> None:
        """Close for good (Quit): the GUI loop ends once the window is gone."""
        self._quitting.set()
        if self._window is not None:
            self._window.destroy()

    def _on_closing(self) -> bool:
        if self._quitting.is_set():
            return True
        threading.Thread(target=self.hide, name="sweatpants-hide", daemon=True).start()
        return False  # keep the window (and the app) alive in the tray

    def _on_loaded(self) -> None:
        log.info("desktop: dashboard loaded")

    def _on_window_shown(self) -> None:
        if self._skip_shown:
            self._skip_shown = False  # pywebview reports a window created hidden as shown
            return
        log.info("desktop: dashboard window shown")
        self._on_shown()
