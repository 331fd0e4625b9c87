"""The job process's side of the pipes transport: its stdin and stdout are its two pipes.

`take_stdio()` runs first thing in a runner started with `--stdio`: it keeps private copies
of fds 0 and 1 (control and messages), then points fd 0 at the null device and fd 1 at the
process's stderr, so nothing printed before the runner captures fd 1 for the job's log (an
import's warning, a C library's chatter) can mix into the frame stream. It needs no fd
passing and no fork, so it works on Windows too.
"""

from __future__ import annotations

import os
import sys


def _binary(fd: int) -> None:
    """Windows' C runtime translates newlines on text-mode descriptors: frames are bytes."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)


def take_stdio() -> tuple[int, int]:
    """(messages_fd, control_fd): private copies of stdout and stdin, which are then moved
    aside (fd 0 reads nothing, fd 1 writes to stderr)."""
    sys.stdout.flush()
    messages_fd = os.dup(1)
    control_fd = os.dup(0)
    for fd in (messages_fd, control_fd):
        _binary(fd)
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, 0)
        try:
            os.dup2(2, 1)
        except OSError:  # no stderr (a windowed app on Windows): the null device then
            os.dup2(null, 1)
    finally:
        os.close(null)
    return messages_fd, control_fd
