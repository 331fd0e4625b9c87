"""A real daemon for tests: `python -m sweatpants serve` as a subprocess on a free port.

The daemon binds port 0 (any free port) and the test reads the port it got from its start-up
line (`... listening on http://127.0.0.1:PORT ...`), so two daemons never race for one port.
A restart reuses that port, so clients that follow a daemon across a restart find it again.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

FINAL = ("completed", "failed", "stopped")
START_TIMEOUT = 30.0
LISTENING = re.compile(rb"listening on http://\S+:(\d+)")  # the daemon's start-up line


def free_port() -> int:
    """A port nothing listened on a moment ago: for "nothing answers here", never to bind
    a server to later (another process may take it first; daemons bind port 0 instead)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nothing listens there: a new daemon could bind it (like the daemon, with SO_REUSEADDR,
    which tolerates the TIME_WAIT connections a closed server leaves behind)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(
    condition: Any, timeout: float, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class RunningDaemon:
    def __init__(
        self, data_dir: Path, env: Mapping[str, str] | None = None, token: str | None = None
    ) -> None:
        self.data_dir = data_dir
        self.modules_dir = data_dir / "modules"
        self.port = 0  # any free port, until the first start reports the one it bound
        self.token = token
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-daemon.log"
        self.command_prefix: list[str] = []  # e.g. ["ip", "netns", "exec", NAME]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        # `SWEATPANTS_JOB_TRANSPORT=pipes pytest ...` runs every test daemon's jobs on the
        # pipes transport (the Windows one); scripts/check does so for the core job tests.
        transport = os.environ.get("SWEATPANTS_JOB_TRANSPORT")
        if transport:
            env["SWEATPANTS_JOB_TRANSPORT"] = transport
        env.update(
            {
                "SWEATPANTS_DATA_DIR": str(self.data_dir),
                "SWEATPANTS_API_PORT": str(self.port),
                "SWEATPANTS_STOP_GRACE_SECONDS": "2",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.token:
            env["SWEATPANTS_API_AUTH_TOKEN"] = self.token
        env.update(self.extra_env)
        return env

    def start(self) -> RunningDaemon:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        log_start = log.tell()  # this start's lines begin here (a restart appends)
        self.process = subprocess.Popen(
            [
                *self.command_prefix,
                *[sys.executable, "-m", "sweatpants", "serve", "--port", str(self.port)],
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited with {self.process.returncode}:\n{self.log()}")
            if not self.port:
                self.port = self._reported_port(log_start)
            if self.port:
                with contextlib.suppress(httpx.HTTPError), self.new_client() as probe:
                    if probe.get("/status", timeout=2).status_code == 200:
                        return self
            time.sleep(0.05)
        raise AssertionError(f"daemon did not answer within {START_TIMEOUT}s:\n{self.log()}")

    def _reported_port(self, offset: int) -> int:
        """The port in the start-up line the daemon wrote after `offset`, or 0 (not yet)."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            found = LISTENING.search(log.read())
        return int(found.group(1)) if found else 0

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def new_client(self, **kwargs: Any) -> httpx.Client:
        """A client of your own; close it (use `with`)."""
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=self.headers(), **kwargs)

    def client(self) -> httpx.Client:
        """The daemon's shared client, closed when the daemon stops; don't close it yourself."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM and wait (jobs wind down within their grace); SIGKILL if it hangs."""
        self.close_client()
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"daemon did not stop within {timeout}s:\n{self.log()}") from None

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss would."""
        assert self.process is not None
        self.close_client()
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> RunningDaemon:
        return self.start()

    def start_job(self, module_id: str, **body: Any) -> str:
        response = self.client().post("/jobs", json={"module_id": module_id, **body})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client().get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job

    def wait_job(
        self, job_id: str, statuses: Iterable[str] = FINAL, timeout: float = 60.0
    ) -> dict[str, Any]:
        wanted = set(statuses)
        client = self.client()

        def check() -> dict[str, Any] | None:
            job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
            return job if job.get("status") in wanted else None

        job: dict[str, Any] = wait_for(check, timeout, what=f"job {job_id} to be {wanted}")
        return job

    def results(self, job_id: str) -> list[Any]:
        """Every result's data, paging through the API."""
        out: list[Any] = []
        after = 0
        for _ in range(100_000):
            page = self.client().get(
                f"/jobs/{job_id}/results", params={"after": after, "limit": 10000}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            out.extend(item["data"] for item in body["results"])
            if body["next_cursor"] is None:
                return out
            after = body["next_cursor"]
        raise AssertionError("too many result pages")

    def logs(self, job_id: str) -> list[dict[str, Any]]:
        """Every log entry, paging through the API."""
        out: list[dict[str, Any]] = []
        after = 0
        for _ in range(100_000):
            page = self.client().get(
                f"/jobs/{job_id}/logs", params={"after": after, "limit": 10000}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            out.extend(body["logs"])
            if len(body["logs"]) < 10000:
                return out
            after = body["next_cursor"]
        raise AssertionError("too many log pages")


def start_daemon(
    data_dir: Path, env: Mapping[str, str] | None = None, token: str | None = None
) -> RunningDaemon:
    return RunningDaemon(data_dir, env=env, token=token).start()
