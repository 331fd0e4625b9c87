"""The CLI as a real subprocess with no daemon running: one line, no traceback, exit 4."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

UNREACHABLE = 4

# Every command that needs the daemon (all but serve, app and config), with its arguments.
DAEMON_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["jobs"],
    ["jobs", "--status", "failed", "--json"],
    ["run", "hello", "-i", "name=World"],
    ["run", "hello", "-d", "2h", "--follow"],
    ["stop", "3f2a9c1e"],
    ["logs", "3f2a9c1e"],
    ["logs", "3f2a9c1e", "--follow"],
    ["result", "3f2a9c1e"],
    ["result", "3f2a9c1e", "--raw"],
    ["result", "3f2a9c1e", "--format", "csv", "--output", "OUT"],
    ["module", "list"],
    ["module", "list", "--json"],
    ["module", "install", "."],
    ["module", "install-git", "https://example.invalid/repo.git", "sub"],
    ["module", "uninstall", "hello"],
    ["module", "sync"],
    ["module", "reload"],
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env.pop("NO_COLOR", None)
    env["SWEATPANTS_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sweatpants", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("args", DAEMON_COMMANDS, ids=lambda a: " ".join(a))
def test_no_daemon_is_one_line(args: list[str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    env = cli_env(tmp_path, SWEATPANTS_API_PORT=str(port))
    args = [str(tmp_path / "out.csv") if a == "OUT" else a for a in args]
    done = run_cli(args, env, tmp_path)
    assert done.returncode == UNREACHABLE, done
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: the Sweatpants daemon is not reachable at http://127.0.0.1:{port} — "
        "start it with 'sweatpants serve' (or 'sweatpants app')"
    ]
    assert not (tmp_path / "out.csv").exists()


def test_url_option_names_the_address(tmp_path: Path) -> None:
    port = free_port()
    done = run_cli(["--url", f"127.0.0.1:{port}", "jobs"], cli_env(tmp_path), tmp_path)
    assert done.returncode == UNREACHABLE
    assert f"not reachable at http://127.0.0.1:{port} " in done.stderr
    env = cli_env(tmp_path, SWEATPANTS_URL=f"http://localhost:{port}/")
    done = run_cli(["logs", "3f2a9c1e", "-f"], env, tmp_path)
    assert done.returncode == UNREACHABLE
    assert f"not reachable at http://localhost:{port} " in done.stderr
    done = run_cli(["jobs", "--url", "ftp://nowhere"], cli_env(tmp_path), tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: 'ftp://nowhere' is not")


def test_config_works_without_a_daemon_and_masks_secrets(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        SWEATPANTS_API_AUTH_TOKEN="very-secret-token",
        SWEATPANTS_PROXY_URL="http://user:hunter2@127.0.0.1:3128",
        SWEATPANTS_API_PORT=str(free_port()),
    )
    table = run_cli(["config"], env, tmp_path)
    assert table.returncode == 0, table.stderr
    assert "very-secret-token" not in table.stdout and "hunter2" not in table.stdout
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SETTING", "VALUE", "SOURCE"]
    data_dir_line = next(line for line in lines if line.startswith("SWEATPANTS_DATA_DIR "))
    assert data_dir_line.split()[1:] == [str(tmp_path), "environment"]
    assert any(line.startswith("SWEATPANTS_LOG_LEVEL ") and "default" in line for line in lines)

    as_json = run_cli(["config", "--json"], env, tmp_path)
    assert as_json.returncode == 0
    document = json.loads(as_json.stdout)
    rows = {row["name"]: row for row in document["settings"]}
    assert rows["SWEATPANTS_API_AUTH_TOKEN"]["value"] == "********"
    assert rows["SWEATPANTS_PROXY_URL"]["value"] == "http://user:***@127.0.0.1:3128"
    assert rows["SWEATPANTS_PROXY_URL"]["source"] == "environment"
    assert "very-secret-token" not in as_json.stdout


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SWEATPANTS_API_PORT="eighty")
    for args in (["config"], ["status"]):
        done = run_cli(args, env, tmp_path)
        assert done.returncode == 1
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith("error: SWEATPANTS_API_PORT='eighty' is not valid")


def test_something_else_on_the_port(tmp_path: Path) -> None:
    """A program that is not our daemon answers: say so, don't crash on its HTML."""
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
            port = int(first.split(" port ")[1].split()[0])
            env = cli_env(tmp_path, SWEATPANTS_URL=f"http://127.0.0.1:{port}")
            done = run_cli(["jobs"], env, tmp_path)
            assert done.returncode == 1
            assert "Traceback" not in done.stderr
            assert "not a Sweatpants daemon" in done.stderr
        finally:
            server.terminate()
            server.wait(10)
