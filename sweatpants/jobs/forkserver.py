"""The fork server: a warm process that forks one child per job.

A fresh interpreter that imports the runner costs ~150 ms of CPU here; forking a process that
already has everything imported costs a few. The daemon starts this server once and asks it
for a child per job over a Unix socket, passing the two pipe ends the child will use (its
message pipe and its control pipe) with SCM_RIGHTS. The server forks, tells the daemon the
child's pid, and later its exit status, as JSON lines on an events pipe.

It is single-threaded (forking a threaded process is unsafe) and ends when the daemon's end
of the request socket closes. Each child starts a new session, so the daemon can signal a
job's whole process group, and reads its job spec from the control pipe like any runner.

The server is not a job's lifeline: a child holds nothing of the server's (it closes the
server's sockets and pipes first thing), so if the server dies its children run on, adopted
by the system's reaper, still talking to the daemon over their own pipes. The daemon then
learns how each ended from its last frame (see `protocol`) and starts a new server.

This module knows nothing about jobs: what a child does is the `become_job` function the
caller passes (`runner.run_from_control`), so the runner imports this module, never the
reverse.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

PRELOAD = ("httpx",)  # what most scraping modules import anyway; skipped if absent
EXIT_CHILD_FAILED = 1  # the child could not become a job (or its job code let something out)

BecomeJob = Callable[[int, int], object]
"""`become_job(messages_fd, control_fd)`, run in a forked child; it should end the process."""


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


def _child(fds: list[int], become_job: BecomeJob, server_fds: list[int]) -> NoReturn:
    """In the forked child: shed the server, become the job, and end this process.

    Whatever happens in here (an exception, SystemExit, KeyboardInterrupt, `become_job`
    returning), the child ends with `os._exit`: it must never unwind into the server's loop
    and go on as a second fork server.
    """
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in server_fds:
            os.close(fd)
        os.setsid()
        messages_fd, control_fd = fds
        become_job(messages_fd, control_fd)
    except BaseException:  # the child must end here, whatever was raised
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        os._exit(EXIT_CHILD_FAILED)  # become_job ends the process itself when all goes well


def serve(request_fd: int, events_fd: int, become_job: BecomeJob) -> None:
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
            _child(fds, become_job, [wake_r, wake_w, requests.fileno(), events.fileno()])
        for fd in fds:
            os.close(fd)
        _send(events, {"started": pid})
