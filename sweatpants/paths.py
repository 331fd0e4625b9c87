"""Where the files that ship with Sweatpants are: the dashboard, the icons, the example modules.

The same code runs from three layouts, and these functions hide which one it is:

- an installed wheel: `ui/` and `assets/` are packaged as `sweatpants/ui` and
  `sweatpants/assets`, next to this file;
- a source checkout or an editable install: they stay at the top of the repository,
  beside the `sweatpants/` package;
- a PyInstaller bundle: the spec copies them to `sweatpants/ui` and `sweatpants/assets`
  under the bundle's data directory, `sys._MEIPASS`.

The example modules always live inside the package (`sweatpants/examples/`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sweatpants.errors import Unavailable

PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates(name: str, *, in_package_only: bool) -> list[Path]:
    found: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "sweatpants" / name)
    found.append(PACKAGE_DIR / name)  # installed wheel (and the bundle's package dir)
    if not in_package_only:
        found.append(PACKAGE_DIR.parent / name)  # source checkout, editable install
    return found


def _locate(name: str, marker: str, *, in_package_only: bool = False) -> Path:
    candidates = _candidates(name, in_package_only=in_package_only)
    for candidate in candidates:
        if (candidate / marker).exists():
            return candidate
    tried = ", ".join(str(path) for path in candidates)
    raise Unavailable(
        f"the {name}/ directory that ships with Sweatpants is missing (looked in {tried}); "
        "reinstall the package, or run from a complete source checkout"
    )


def ui_dir() -> Path:
    """The dashboard's static files (the directory holding `index.html`)."""
    return _locate("ui", "index.html")


def assets_dir() -> Path:
    """The icons: tray states and the app icon in PNG/ICO sizes."""
    return _locate("assets", ".")


def examples_dir() -> Path:
    """The example modules bundled with the package, one folder each (`hello/`, ...)."""
    return _locate("examples", ".", in_package_only=True)
