"""The job's actor on a Ray node: starts the runner child and hands its output out in batches.

The actor is a threaded actor (several methods at once): `take` long-polls for output while
`cancel` / `terminate` / `kill` act on the child. The module itself runs in the child, in
that process's main thread, exactly as a local job: signal handlers, blocking calls, crashes
and `os._exit` affect the child only, and the actor reports its exit code.

Output is read from the child's pipe by a thread into a bounded buffer; when the daemon does
not keep up the buffer fills, the thread stops reading, the pipe fills and the module's next
write waits: nothing is dropped, memory stays bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from sweatpants.jobs import protocol

READ_BYTES = 1024 * 1024
MAX_BUFFERED = 8 * 1024 * 1024


class JobActor:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self._eof = False
        self._process: subprocess.Popen[bytes] | None = None
        self._ctrl_fd: int | None = None

    def start(self, spec_data: dict[str, Any]) -> dict[str, Any]:
        """Start the runner child; the module's folder is this actor's working_dir."""
        import ray

        spec = dict(spec_data, module_dir=os.getcwd(), deps_path=None)
        out_r, out_w = os.pipe()
        ctrl_r, ctrl_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        env.pop("PYTHONBREAKPOINT", None)  # Ray's debugger hook is not for the module
        command = [sys.executable, "-m", "sweatpants.jobs.runner"]
        try:
            self._process = subprocess.Popen(
                [*command, "--messages-fd", str(out_w), "--control-fd", str(ctrl_r)],
                stdin=subprocess.DEVNULL,
                pass_fds=(out_w, ctrl_r),
                cwd=os.getcwd(),
                env=env,
                start_new_session=True,  # stops signal the module's own subprocesses too
            )
        finally:
            os.close(out_w)
            os.close(ctrl_r)
        self._ctrl_fd = ctrl_w
        threading.Thread(target=self._read, args=(out_r,), daemon=True).start()
        line = memoryview(json.dumps(spec).encode() + b"\n")  # the runner's first input
        with contextlib.suppress(BrokenPipeError):  # if it died at once, its exit code tells
            while line:
                line = line[os.write(ctrl_w, line) :]
        context = ray.get_runtime_context()
        return {"pid": self._process.pid, "node_id": context.get_node_id()}

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(READ_BYTES)
                with self._cond:
                    if not chunk:
                        self._eof = True
                        self._cond.notify_all()
                        return
                    self._buffer += chunk
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: len(self._buffer) < MAX_BUFFERED)

    def take(self, max_bytes: int, wait: float) -> tuple[bytes, int | None]:
        """Up to `max_bytes` of output (waiting up to `wait` s for some), and, once the output
        has ended and been taken entirely, the child's exit code (negative: a signal)."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._buffer) or self._eof, timeout=wait)
            data = bytes(self._buffer[:max_bytes])
            del self._buffer[:max_bytes]
            self._cond.notify_all()
            drained = self._eof and not self._buffer
        if data or not drained:
            return data, None
        assert self._process is not None
        code = self._process.wait()
        return b"", code

    def cancel(self) -> None:
        if self._ctrl_fd is not None:
            with contextlib.suppress(OSError):  # the child has gone already
                os.write(self._ctrl_fd, protocol.CANCEL)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signum)
