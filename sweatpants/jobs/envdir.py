"""A module's environment as job processes and the daemon see it: what makes a folder one,
its interpreter, and the lock that says jobs are running on it.

A job whose module has an environment takes a shared `flock` on `<env>/.in-use` when it
starts and holds it until its process ends (the kernel drops it then, however the process
ends: done, killed, crashed). The daemon removes an environment no module needs any more
only if it can take that lock exclusively, so a job started before its module was updated
finishes on the packages it started with. The environment's warm starter does not hold it:
an idle starter never keeps an environment alive.

Runs in job processes and in the daemon: imports nothing of either. Where there is no
`fcntl` (Windows), nothing is locked and an environment in use simply fails to be deleted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LOCK_NAME = ".in-use"
ENV_MARKER = "pyvenv.cfg"  # what makes a folder a virtual environment

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def is_environment(path: str | Path | None) -> bool:
    """True when `path` is a virtual environment (a module's), not a plain folder."""
    return bool(path) and (Path(str(path)) / ENV_MARKER).is_file()


def interpreter(env_dir: str | Path) -> Path:
    """The environment's own Python."""
    if os.name == "nt":
        return Path(env_dir) / "Scripts" / "python.exe"
    return Path(env_dir) / "bin" / "python"


def hold(env_dir: str | Path) -> int | None:
    """Take the shared lock for this process's lifetime; the fd (never closed) or None."""
    if fcntl is None:
        return None
    try:
        fd = os.open(Path(env_dir) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        return None
    return fd


def in_use(env_dir: Path) -> bool:
    """True while a job process holds the environment's lock."""
    if fcntl is None:
        return False
    try:
        fd = os.open(env_dir / LOCK_NAME, os.O_RDWR)
    except OSError:
        return False  # never used by a job
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing drops the exclusive lock if it was taken
    return False
