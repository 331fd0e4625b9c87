"""Which Chromium to launch (the browser pool, or a job's own), and the flags it gets.

Order: `SWEATPANTS_BROWSER_PATH`, then Playwright's own Chromium if `playwright install
chromium` has put one on this machine (the revision this Playwright expects), then a system
Chromium or Chrome. None found → `Unavailable` saying exactly what to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from sweatpants.errors import Unavailable

# Per shared/TESTING.md: without the background-networking flags Chromium keeps calling
# hosts an offline machine cannot reach. The throttling flags keep background jobs' pages
# running at full speed (no tab is ever "visible" in a pooled browser).
BASE_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-quic",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
SYSTEM_PATHS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/snap/bin/chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
)
INSTALL_HINT = (
    "install one with `apt-get install -y chromium` (Debian/Ubuntu) or "
    "`playwright install chromium`, or set SWEATPANTS_BROWSER_PATH to a Chromium or Chrome binary"
)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_browser(configured: str = "") -> tuple[str, str]:
    """(path, source) of the browser binary; source is `setting`, `playwright` or `system`."""
    if configured:
        path = Path(configured).expanduser()
        if not _executable(path):
            raise Unavailable(
                f"SWEATPANTS_BROWSER_PATH={configured} is not an executable file; "
                f"fix the path or unset it, or {INSTALL_HINT}",
                field="SWEATPANTS_BROWSER_PATH",
            )
        return str(path), "setting"
    bundled = playwright_chromium()
    if bundled is not None:
        return str(bundled), "playwright"
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return found, "system"
    for candidate in SYSTEM_PATHS:
        if _executable(Path(candidate)):
            return candidate, "system"
    raise Unavailable(f"No Chromium found for the browser pool: {INSTALL_HINT}.")


def playwright_chromium() -> Path | None:
    """The Chromium `playwright install chromium` downloads for this Playwright, if present."""
    spec = importlib.util.find_spec("playwright")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    try:
        manifest = json.loads((package / "driver/package/browsers.json").read_text())
        revision = next(b["revision"] for b in manifest["browsers"] if b["name"] == "chromium")
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    root = _browsers_root(package)
    folder = root / f"chromium-{revision}"
    if not folder.is_dir():
        return None
    patterns = {
        "linux": ("chrome-linux*/chrome",),
        "darwin": ("chrome-mac*/*.app/Contents/MacOS/*",),
        "win32": ("chrome-win*/chrome.exe",),
    }.get(sys.platform, ("chrome-linux*/chrome",))
    for pattern in patterns:
        for match in sorted(folder.glob(pattern)):
            if _executable(match):
                return match
    return None


def _browsers_root(package: Path) -> Path:
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "")
    if configured == "0":
        return package / "driver/package/.local-browsers"
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library/Caches/ms-playwright"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "ms-playwright"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ms-playwright"
