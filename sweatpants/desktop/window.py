"""The dashboard window, in a process of its own: `python -m sweatpants.desktop.window`.

The tray starts this process when the user opens the dashboard and the process ends when the
window is closed, so the web engine (WebKitGTK, WKWebView, WebView2, or Qt WebEngine) costs
memory only while the window is open. The tray process holds the engine, the icon and the
menu; see `sweatpants.desktop.window_process` for its side.

Nothing secret is on the command line (other users can read it): the tray writes the window's
settings, the dashboard URL with its `#token=` among them, as the first line on this process's
stdin. Lines after it, tray → window: `show` (bring the window to the front). The end of
stdin means the tray is quitting: the window closes. Window → tray, one word a line on
stdout: `shown`, `loaded`, `gone` (closed: a `show` now would come too late). The process moves its stdout aside first thing, so what the web
engine prints never mixes into those lines.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import threading
from typing import Any, BinaryIO

from sweatpants.desktop.icons import app_icon_path
from sweatpants.jobs.stdio import take_stdio

log = logging.getLogger("sweatpants.desktop.window")

TITLE = "Sweatpants"
APP_NAME = "sweatpants"
SHOWN = "shown"
LOADED = "loaded"
GONE = "gone"  # the window is closed; the process is ending
SHOW = "show"


def prepare_qt_environment() -> None:
    """QtWebEngine refuses to start as root unless its sandbox is off."""
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if is_root and "--no-sandbox" not in flags:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


class WindowProcess:
    """The pywebview window of this process and its two lines to the tray."""

    def __init__(self, config: dict[str, Any], events: BinaryIO) -> None:
        self.url = str(config["url"])
        self.storage_path = str(config["storage_path"])
        self.gui: str | None = config.get("gui")
        self._events = events
        self._events_lock = threading.Lock()
        self._window: Any = None

    def tell(self, word: str) -> None:
        """One line to the tray; a tray that went away is not an error here."""
        with self._events_lock, contextlib.suppress(OSError):
            self._events.write(word.encode() + b"\n")

    def run(self, control: BinaryIO) -> None:
        """Show the window and block in the GUI loop until it is closed."""
        import webview

        if self.gui == "qt":
            prepare_qt_environment()
        self._window = webview.create_window(
            TITLE,
            self.url,
            width=1200,
            height=800,
            min_size=(480, 360),
            background_color="#FFFFFF",
            text_select=True,
        )
        self._window.events.shown += lambda: self.tell(SHOWN)
        self._window.events.loaded += lambda: self.tell(LOADED)
        self._window.events.closed += lambda: self.tell(GONE)
        icon = app_icon_path()
        os.makedirs(self.storage_path, exist_ok=True)
        # Qt and GTK name the app (X11 WM_CLASS, what desktops match launchers by) after argv[0].
        if sys.argv:
            sys.argv[0] = APP_NAME
        # A daemon thread: a thread of pywebview's own would keep the process alive once the
        # window is closed, until the tray closes its end of the pipe.
        threading.Thread(
            target=self._listen, args=(control,), name="tray-lines", daemon=True
        ).start()
        webview.start(
            gui=self.gui,  # type: ignore[arg-type]
            private_mode=False,
            storage_path=self.storage_path,
            icon=str(icon) if icon else None,
        )

    def _listen(self, control: BinaryIO) -> None:
        """The tray's lines; `show` waits (in pywebview) until the window has been shown."""
        for line in control:
            if line.strip() == SHOW.encode():
                self._window.show()
                self._window.restore()  # un-minimise and raise it
        self._window.destroy()  # the tray is gone or quitting


# pywebview's module for each backend name: importing it early loads the web engine's
# libraries while the tray is still getting the engine ready.
ENGINE_MODULES = {
    "gtk": "webview.platforms.gtk",
    "qt": "webview.platforms.qt",
    "cocoa": "webview.platforms.cocoa",
    "edgechromium": "webview.platforms.winforms",
}


def _preload(engine: str | None) -> None:
    module = ENGINE_MODULES.get(engine or "")
    if module is None:
        return
    if engine == "qt":
        prepare_qt_environment()
    try:
        importlib.import_module(module)
    except Exception as exc:  # webview.start() will say what is missing
        log.warning("desktop: could not preload %s: %s", module, exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweatpants.desktop.window")
    parser.add_argument("--engine", help="pywebview backend to load early (gtk, qt, ...)")
    args = parser.parse_args(argv)
    events_fd, control_fd = take_stdio()
    events = os.fdopen(events_fd, "wb", buffering=0)
    control = os.fdopen(control_fd, "rb", buffering=0)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _preload(args.engine)
    line = control.readline()
    if not line.strip():
        return 0  # the tray no longer wants a window
    WindowProcess(json.loads(line), events).run(control)
    # The window is closed: end now, without tearing the web engine down object by object.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
