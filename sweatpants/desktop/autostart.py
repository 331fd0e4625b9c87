"""Start at login: an XDG autostart entry (Linux), a LaunchAgent (macOS), the Run key (Windows).

Off until the user ticks it in the tray menu. The command started at login is this Python
running `-m sweatpants.desktop --hidden` (the tray only; the window opens on demand), with
the non-secret location settings of the current run (data folder, host, port, env file) as
options, so the app that starts at login is the one the user enabled it from.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweatpants.config import Settings
from sweatpants.desktop.launcher import SETTING_FLAGS

APP_ID = "dev.sweatpants.app"
ENTRY_NAME = "sweatpants"
WINDOWS_VALUE = "Sweatpants"
# Settings carried over to the login start as the launcher's flags (never a secret); paths
# are made absolute, since the login session starts elsewhere.
PATH_OPTIONS = frozenset({"data_dir", "env_file"})


def login_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The argv started at login."""
    source = os.environ if environ is None else environ
    executable = sys.executable
    if sys.platform == "win32" and executable.lower().endswith("python.exe"):
        windowless = executable[: -len("python.exe")] + "pythonw.exe"
        if Path(windowless).is_file():
            executable = windowless
    argv = [executable, "-m", "sweatpants.desktop", "--hidden"]
    for name, (flag, _meaning) in SETTING_FLAGS.items():
        value = source.get(Settings.env_name(name), "").strip()
        if value and name in PATH_OPTIONS:
            value = str(Path(value).expanduser().resolve())
        if value:
            argv += [flag, value]
    return argv


class Autostart:
    """Enable, disable and inspect start-at-login for the current user."""

    def __init__(
        self,
        platform: str | None = None,
        home: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.platform = platform or sys.platform
        self.home = home or Path.home()
        self.environ = dict(os.environ if environ is None else environ)

    @property
    def path(self) -> Path | None:
        """The file that enables it (None on Windows, where it is a registry value)."""
        if self.platform == "win32":
            return None
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
        config = self.environ.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(config) / "autostart" / f"{ENTRY_NAME}.desktop"

    def is_enabled(self) -> bool:
        if self.platform == "win32":
            return _windows_get() is not None
        path = self.path
        return path is not None and path.is_file()

    def set_enabled(self, enabled: bool) -> None:
        if enabled:
            self.enable()
        else:
            self.disable()

    def enable(self) -> None:
        command = login_command(self.environ)
        if self.platform == "win32":
            _windows_set(subprocess.list2cmdline(command))
            return
        path = self.path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.platform == "darwin":
            _write_atomically(path, _launch_agent(command))
        else:
            _write_atomically(path, _desktop_entry(command).encode("utf-8"))

    def disable(self) -> None:
        if self.platform == "win32":
            _windows_delete()
            return
        path = self.path
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _write_atomically(path: Path, content: bytes) -> None:
    """Readers (the session's autostart scan) never see a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _desktop_entry(command: list[str]) -> str:
    # Desktop Entry Exec quoting: double quotes, with \ " ` $ escaped inside them.
    exec_line = " ".join(_desktop_quote(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Sweatpants\n"
        "Comment=Local automation engine in your system tray\n"
        f"Exec={exec_line}\n"
        "Icon=sweatpants\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-GNOME-Autostart-Delay=5\n"
    )


def _desktop_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_./=:@+," for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '\\"`$' else c for c in arg)
    return f'"{escaped}"'.replace("%", "%%")


def _launch_agent(command: list[str]) -> bytes:
    agent: dict[str, object] = {
        "Label": APP_ID,
        "ProgramArguments": command,
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    return plistlib.dumps(agent)


def _winreg() -> Any:
    return importlib.import_module("winreg")


_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def _windows_get() -> str | None:  # pragma: no cover - Windows only
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:
            value, _ = winreg.QueryValueEx(key, WINDOWS_VALUE)
            return str(value)
    except OSError:
        return None


def _windows_set(command: str) -> None:  # pragma: no cover - Windows only
    winreg = _winreg()
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        winreg.SetValueEx(key, WINDOWS_VALUE, 0, winreg.REG_SZ, command)


def _windows_delete() -> None:  # pragma: no cover - Windows only
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, WINDOWS_VALUE)
    except FileNotFoundError:
        pass
