"""Port 0: the daemon binds any free port and every place that names its port names that one.

Every live test's daemon starts this way (tests/support/daemon.py reads the port from the
start-up line); these tests check the other places: the daemon file the CLI and the tray
read, the URL jobs are given, and `sweatpants status` finding the daemon with port 0 set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

DAEMON_URL = """
from sweatpants import Module
from sweatpants.sdk.runtime import current

class DaemonUrl(Module):
    async def run(self, inputs, settings):
        yield {"url": current().services.daemon_url}
"""


def test_port_zero_is_recorded_as_the_port_bound(daemon: RunningDaemon) -> None:
    assert daemon.port != 0
    assert f"listening on {daemon.url}" in daemon.log()
    record = json.loads((daemon.data_dir / "daemon.json").read_text())
    assert record["url"] == daemon.url and record["pid"] == daemon.pid
    write_module(daemon.modules_dir, "daemon-url", DAEMON_URL)
    job_id = daemon.start_job("daemon-url")
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [{"url": daemon.url}]


def test_cli_finds_a_daemon_started_on_port_zero(daemon: RunningDaemon) -> None:
    env = {**daemon.env, "SWEATPANTS_API_PORT": "0", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"URL:      {daemon.url}" in done.stdout


def test_a_taken_port_says_how_to_pick_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        env["SWEATPANTS_DATA_DIR"] = str(tmp_path / "data")
        done = subprocess.run(
            [sys.executable, "-m", "sweatpants", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "--port or SWEATPANTS_API_PORT (0 picks one)" in done.stderr
