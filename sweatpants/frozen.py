"""Running from a standalone (PyInstaller) build, where there is no `python` to start.

A frozen app's `sys.executable` is the app itself, so `sys.executable -m pip` would start a
second Sweatpants instead of pip. Job runners are fine (the app's entry point,
packaging/pyinstaller/entry.py, recognises the runner's arguments); installing a module's
`requirements.txt` is the one place that needs a real interpreter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from sweatpants.errors import Unavailable

PIP_PROBE_SECONDS = 30.0


def is_frozen() -> bool:
    """True inside a standalone build, where `sys.executable` is the app, not Python."""
    return bool(getattr(sys, "frozen", False))


def _python_name() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _has_pip(python: str) -> bool:
    try:
        probe = subprocess.run(
            [python, "-m", "pip", "--version"],
            capture_output=True,
            timeout=PIP_PROBE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def pip_command() -> list[str]:
    """The argv prefix that runs pip for packages this engine can import.

    From a wheel or a checkout that is this interpreter. In a standalone build it is a
    `pythonX.Y` on PATH with the app's own major.minor version (so compiled packages match
    the bundled interpreter's ABI) that has pip; without one, installing requirements fails
    with `Unavailable` saying what to do.
    """
    if not is_frozen():
        return [sys.executable, "-m", "pip"]
    name = _python_name()
    python = shutil.which(name)
    if python is not None and _has_pip(python):
        return [python, "-m", "pip"]
    raise Unavailable(
        "this module has a requirements.txt, and the standalone Sweatpants app has no Python "
        f"of its own to run pip with: install {name} with pip on this machine (it is looked "
        f"up on PATH as `{name}`), or run Sweatpants from its Python package "
        "(`pip install sweatpants`), or install the module's packages yourself"
    )
