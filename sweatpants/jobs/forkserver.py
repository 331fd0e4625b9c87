"""The fork server: a warm process that forks one child per job.

A fresh interpreter that imports the runner costs ~150 ms of CPU here; forking a process that
already has everything imported costs a few. The daemon starts this server once and asks it
for a child per job over a Unix socket, passing the two pipe ends the child will use (its
message pipe and its control pipe) with SCM_RIGHTS. The server forks, tells the daemon the
child's pid, and later its exit status, as JSON lines on an events pipe.

It is single-threaded (forking a threaded process is unsafe) and ends when the daemon's end
of the request socket closes. Each child starts a new session, so the daemon can signal a
job's whole process group, and reads its job spec from the control pipe like any runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
from typing import Any, BinaryIO

from sweatpants.jobs import runner

PRELOAD = ("httpx",)  # what most scraping modules import anyway; skipped if absent


def _send(events: BinaryIO, message: dict[str, Any]) -> None:
    events.write(json.dumps(message).encode() + b"\n")


def _reap(events: BinaryIO) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(events, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _become_job(fds: list[int]) -> None:
    """In the forked child: wait for the spec on the control pipe, then run the job."""
    messages_fd, control_fd = fds
    os.setsid()
    control = os.fdopen(control_fd, "rb")
    line = control.readline()
    if not line.strip():
        os._exit(0)
    runner.child_main(json.loads(line), messages_fd, control)


def serve(request_fd: int, events_fd: int) -> None:
    """The server loop; returns when the daemon goes away."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = socket.socket(fileno=request_fd)
    events = os.fdopen(events_fd, "wb", buffering=0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    while True:
        ready, _, _ = select.select([requests.fileno(), wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(events)
        if requests.fileno() not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(requests, 16, 2)
        if not message:
            return  # the daemon is gone; its jobs see their control pipes close and end
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (wake_r, wake_w):
                os.close(fd)
            requests.close()
            events.close()
            _become_job(fds)
        for fd in fds:
            os.close(fd)
        _send(events, {"started": pid})
