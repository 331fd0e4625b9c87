"""Asking the OS about other processes."""

from __future__ import annotations

import os
import sys


def pid_alive(pid: object) -> bool:
    """True if a process with this pid exists (ours or another user's)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
