"""Can this session show a tray icon and a window? If not, why (so the app can say so).

On Linux the tray needs a display and a pystray backend with a real menu (`appindicator`
or `gtk`, both through PyGObject); the window needs pywebview with GTK (WebKit2GTK through
PyGObject: the lightest, preferred) or else Qt (PyQt6 + QtWebEngine). Windows uses WebView2
(`edgechromium`), macOS WKWebView (`cocoa`). Nothing here starts a GUI loop, and nothing here
imports a web engine: the window runs in a process of its own.
"""

from __future__ import annotations

import ctypes.util
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

INSTALL_HINT = (
    "install the GUI extra: pip install 'sweatpants[gui]' (on Debian/Ubuntu first: "
    "apt-get install libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0 "
    "gir1.2-webkit2-4.1)"
)


@dataclass(frozen=True)
class GuiSupport:
    """`webview_gui` names pywebview's backend ("qt", "gtk", or None for the platform's)."""

    available: bool
    reason: str = ""
    webview_gui: str | None = None


# The lightest web view of each platform (pywebview's names); Linux's is chosen at run time.
PLATFORM_WEBVIEW = {"win32": "edgechromium", "darwin": "cocoa"}


def has_display(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    env = os.environ if environ is None else environ
    plat = platform or sys.platform
    if plat in {"win32", "darwin"}:
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# Qt's X11 platform plugin aborts the whole process (not an exception) without these.
QT_XCB_LIBRARIES = {"xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1"}


def missing_qt_libraries(environ: Mapping[str, str] | None = None) -> list[str]:
    """Debian packages Qt needs on X11 that are not installed (none needed on Wayland)."""
    env = os.environ if environ is None else environ
    if not env.get("DISPLAY") or env.get("QT_QPA_PLATFORM", "").startswith("wayland"):
        return []
    return [pkg for lib, pkg in QT_XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]


def _has_webkit2gtk() -> bool:
    """WebKit2GTK's GObject typelib is installed (Debian: gir1.2-webkit2-4.1)."""
    if not _module_exists("gi"):
        return False
    try:
        import gi

        gi.require_version("GIRepository", "2.0")
        from gi.repository import GIRepository
    except (ImportError, ValueError):
        return False
    repository = GIRepository.Repository.get_default()
    return any(repository.enumerate_versions("WebKit2"))


def _linux_webview_gui() -> str | None:
    """WebKitGTK where it is installed (a third of Qt WebEngine's memory), else Qt."""
    if _has_webkit2gtk():
        return "gtk"
    qt = _module_exists("PyQt6.QtWebEngineWidgets") or _module_exists("PySide6.QtWebEngineWidgets")
    if qt and not missing_qt_libraries():
        return "qt"
    return None


def detect() -> GuiSupport:
    """Whether the tray and window can run here; imports pystray (it picks its backend)."""
    if not has_display():
        return GuiSupport(False, "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    if not _module_exists("webview"):
        return GuiSupport(False, f"pywebview is not installed; {INSTALL_HINT}")
    gui: str | None = PLATFORM_WEBVIEW.get(sys.platform)
    if sys.platform not in PLATFORM_WEBVIEW and not os.environ.get("PYWEBVIEW_GUI"):
        gui = _linux_webview_gui()
        if gui is None:
            missing = missing_qt_libraries()
            if missing:
                return GuiSupport(
                    False, f"Qt needs system libraries: apt-get install -y {' '.join(missing)}"
                )
            return GuiSupport(
                False, f"no pywebview backend (WebKit2GTK or Qt WebEngine); {INSTALL_HINT}"
            )
    try:
        pystray = importlib.import_module("pystray")
    except Exception as exc:  # pystray raises whatever its last backend raised
        return GuiSupport(False, f"no system tray backend ({exc}); {INSTALL_HINT}")
    if not getattr(pystray.Icon, "HAS_MENU", False):
        return GuiSupport(
            False, f"the tray backend {pystray.Icon.__module__} has no menu; {INSTALL_HINT}"
        )
    return GuiSupport(True, webview_gui=gui)
