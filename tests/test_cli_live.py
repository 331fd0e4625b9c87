"""Every CLI command against a real daemon on a free port, the CLI run as a real subprocess."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

HELLO = """
import asyncio
from sweatpants import Module

class Hello(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["count"]):
            await self.log(f"hello {inputs['name']} #{i}")
            await self.progress(i + 1, inputs["count"])
            yield {"n": i, "greeting": f"hello {inputs['name']}"}
            await asyncio.sleep(inputs["pause"])
        if inputs["fail"]:
            raise RuntimeError("asked to fail")
"""
HELLO_INPUTS = [
    {"id": "name", "type": "text", "required": True},
    {"id": "count", "type": "integer", "default": 3},
    {"id": "pause", "type": "number", "default": 0.0},
    {"id": "fail", "type": "boolean", "default": False},
]

CLI = [sys.executable, "-m", "sweatpants"]


def cli_env(daemon: RunningDaemon, **extra: str) -> dict[str, str]:
    """The daemon's own environment (data dir, port, token), as its user's shell would have."""
    env = dict(daemon.env)
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def run_cli(
    daemon: RunningDaemon, *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env or cli_env(daemon),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=daemon.data_dir.parent,
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


def failed(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    return done.stderr


@pytest.fixture
def hello(daemon: RunningDaemon, tmp_path: Path) -> RunningDaemon:
    """The daemon with the `greet` test module installed through the CLI."""
    folder = write_module(tmp_path / "src", "greet", HELLO, inputs=HELLO_INPUTS)
    done = ok(run_cli(daemon, "module", "install", str(folder)))
    assert done.stdout.strip() == "Installed greet 1.0.0 (Greet)"
    return daemon


def table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.strip().splitlines()]


def test_module_commands(daemon: RunningDaemon, tmp_path: Path) -> None:
    # a new data directory starts with the bundled example; uninstall whatever is there
    for module in json.loads(ok(run_cli(daemon, "module", "list", "--json")).stdout)["modules"]:
        ok(run_cli(daemon, "module", "uninstall", module["id"]))
    assert "No modules installed" in ok(run_cli(daemon, "module", "list")).stdout
    folder = write_module(tmp_path / "src", "greeter", HELLO, inputs=HELLO_INPUTS)
    ok(run_cli(daemon, "module", "install", str(folder)))
    rows = table(ok(run_cli(daemon, "module", "list")).stdout)
    assert rows[0] == ["ID", "NAME", "VERSION", "CAPABILITIES"]
    assert rows[1] == ["greeter", "Greeter", "1.0.0"]
    listing = json.loads(ok(run_cli(daemon, "module", "list", "--json")).stdout)
    assert [m["id"] for m in listing["modules"]] == ["greeter"]

    # a module dropped into the modules folder appears after `reload`
    write_module(daemon.modules_dir, "dropped", HELLO, inputs=HELLO_INPUTS)
    ok(run_cli(daemon, "module", "reload"))
    ids = {
        m["id"] for m in json.loads(run_cli(daemon, "modules", "ls", "--json").stdout)["modules"]
    }
    assert ids == {"greeter", "dropped"}

    # install-git from a real repository made here
    repo = tmp_path / "repo"
    write_module(repo, "from-git", HELLO, inputs=HELLO_INPUTS)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "m"], check=True)
    done = ok(run_cli(daemon, "module", "install-git", f"file://{repo}", "from-git"))
    assert "Installed from-git 1.0.0" in done.stdout

    # sync: a modules.yaml naming a folder; a second sync finds it unchanged
    other = write_module(tmp_path / "src", "synced", HELLO, inputs=HELLO_INPUTS)
    (daemon.data_dir / "modules.yaml").write_text(f"module_sources:\n  - path: {other}\n")
    ok(run_cli(daemon, "module", "sync"))
    again = json.loads(ok(run_cli(daemon, "module", "sync", "--json")).stdout)
    assert [s["id"] for s in again["skipped"]] == ["synced"] and again["failed"] == []
    (daemon.data_dir / "modules.yaml").write_text("module_sources:\n  - path: /nonexistent\n")
    assert "/nonexistent" in failed(run_cli(daemon, "module", "sync"))

    assert ok(run_cli(daemon, "module", "uninstall", "greeter")).stdout.strip() == (
        "Uninstalled greeter"
    )
    assert "greeter" in failed(run_cli(daemon, "module", "uninstall", "greeter"))
    assert "is not" in failed(run_cli(daemon, "module", "install", str(tmp_path / "missing")))


@pytest.mark.parametrize(
    ("inputs", "code", "end"),
    [
        (["-i", "count=3"], 0, "completed"),
        (["-i", "fail=true"], 1, "failed: RuntimeError: asked to fail"),
        (["-i", "count=1000", "-i", "pause=0.2", "-d", "1s"], 3, "stopped"),
    ],
    ids=["completed", "failed", "stopped"],
)
def test_run_follow_exit_codes(
    hello: RunningDaemon, inputs: list[str], code: int, end: str
) -> None:
    done = run_cli(hello, "run", "greet", "-i", "name=World", *inputs, "--follow")
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("INFO     hello World #0")
    assert done.stderr.startswith("Started job ")
    assert f"{end}" in done.stderr.splitlines()[-1]


def test_run_quiet_status_stop_and_jobs(hello: RunningDaemon) -> None:
    job_id = ok(
        run_cli(hello, "run", "greet", "-i", "name=Q", "-i", "count=1000", "-i", "pause=0.1", "-q")
    ).stdout.strip()
    assert len(job_id) == 36
    hello.wait_job(job_id, {"running"})

    status = ok(run_cli(hello, "status")).stdout
    count = len(json.loads(ok(run_cli(hello, "module", "list", "--json")).stdout)["modules"])
    assert f"Modules:  {count}" in status
    rows = table(status.split("\n\n", 1)[1])
    assert rows[0] == ["ID", "MODULE", "STATUS", "STARTED", "RUNTIME", "PROGRESS"]
    assert rows[1][:3] == [job_id[:8], "greet", "running"]
    running = json.loads(ok(run_cli(hello, "jobs", "--status", "running", "--json")).stdout)
    assert [j["id"] for j in running["jobs"]] == [job_id]

    stopped = json.loads(ok(run_cli(hello, "stop", job_id[:8], "--wait", "--json")).stdout)
    assert stopped["status"] == "stopped"
    assert "has already ended" in failed(run_cli(hello, "stop", job_id[:8]))

    rows = table(ok(run_cli(hello, "jobs")).stdout)
    assert rows[0] == ["ID", "MODULE", "STATUS", "CREATED", "RUNTIME", "RESULTS", "PROGRESS"]
    assert rows[1][:3] == [job_id[:8], "greet", "stopped"]
    assert ok(run_cli(hello, "jobs", "--status", "failed")).stdout.strip() == "No failed jobs."


def test_logs_follow_survives_pings(
    make_daemon: Callable[..., RunningDaemon], tmp_path: Path
) -> None:
    daemon = make_daemon(env={"SWEATPANTS_WS_PING_SECONDS": "0.2"})
    code = """
    import asyncio
    from sweatpants import Module

    class Slow(Module):
        async def run(self, inputs, settings):
            await self.log("first")
            await asyncio.sleep(2)  # the stream sends ~10 pings meanwhile
            await self.log("second", level="WARNING")
            yield {"done": True}
    """
    folder = write_module(tmp_path / "src", "slow", code)
    ok(run_cli(daemon, "module", "install", str(folder)))
    job_id = daemon.start_job("slow")
    done = ok(run_cli(daemon, "logs", job_id[:8], "--follow"))
    messages = [line.split(None, 3)[2:] for line in done.stdout.splitlines()]
    assert messages == [["INFO", "first"], ["WARNING", "second"]]
    assert done.stderr.strip() == f"Job {job_id[:8]} completed"
    # once the job has ended, --follow prints what there is and ends at once
    again = ok(run_cli(daemon, "logs", job_id, "-f", "--json"))
    entries = [json.loads(line) for line in again.stdout.splitlines()]
    assert [e["message"] for e in entries] == ["first", "second"]
    page = json.loads(ok(run_cli(daemon, "logs", job_id, "--limit", "1", "--json")).stdout)
    assert [e["message"] for e in page["logs"]] == ["second"]


RSS_PROBE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.write(done.stderr.decode())
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def peak_rss_kib(daemon: RunningDaemon, *args: str) -> int:
    """Run the CLI under a fresh parent whose only child it is; that parent reports its peak RSS."""
    probe = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, *CLI, *args],
        env=cli_env(daemon),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    return int(probe.stdout.strip())


@pytest.mark.slow
def test_result_csv_streams_a_big_job_to_a_file(hello: RunningDaemon, tmp_path: Path) -> None:
    code = """
    from sweatpants import Module

    class Many(Module):
        async def run(self, inputs, settings):
            padding = "x" * 300
            for i in range(100_000):
                yield {"n": i, "text": f"row {i}", "padding": padding}
    """
    folder = write_module(tmp_path / "src", "many", code)
    ok(run_cli(hello, "module", "install", str(folder)))
    job_id = hello.start_job("many")
    assert hello.wait_job(job_id, timeout=240)["status"] == "completed"

    target = tmp_path / "out" / "results.csv"
    target.parent.mkdir()
    export_rss = peak_rss_kib(
        hello, "result", job_id[:8], "--format", "csv", "--output", str(target)
    )
    baseline_rss = peak_rss_kib(hello, "result", job_id[:8], "--limit", "1", "--json")
    size = target.stat().st_size
    assert size > 30_000_000
    with target.open(newline="") as stream:
        reader = csv.reader(stream)
        assert next(reader) == ["n", "text", "padding"]
        count = sum(1 for _ in reader)
    assert count == 100_000
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
    # Streaming: the export costs the CLI far less memory than the file holds.
    assert export_rss - baseline_rss < size / 1024 / 4, (export_rss, baseline_rss, size)

    ndjson = tmp_path / "out" / "results.ndjson"
    ok(run_cli(hello, "result", job_id, "-o", str(ndjson)))  # format from the suffix
    with ndjson.open() as stream:
        first = json.loads(stream.readline())
    assert first["n"] == 0

    shown = ok(run_cli(hello, "result", job_id[:8], "--limit", "3"))
    assert table(shown.stdout)[0] == ["#", "n", "text", "padding"]
    assert len(table(shown.stdout)) == 4
    assert "Showing 3 of 100000 results" in shown.stderr


def make_ambiguous(daemon: RunningDaemon, job_ids: list[str], new_ids: list[str]) -> None:
    """Give finished jobs ids that share a prefix (uuid4s never do), with the daemon stopped."""
    daemon.stop()
    with sqlite3.connect(daemon.data_dir / "sweatpants.db") as conn:
        for old, new in zip(job_ids, new_ids, strict=True):
            for table_name in ("jobs",):
                conn.execute(f"UPDATE {table_name} SET id = ? WHERE id = ?", (new, old))
            for table_name in ("logs", "results"):
                conn.execute(f"UPDATE {table_name} SET job_id = ? WHERE job_id = ?", (new, old))
    conn.close()
    daemon.restart()


def test_ambiguous_prefix_lists_the_matches(hello: RunningDaemon) -> None:
    first = hello.start_job("greet", inputs={"name": "a", "count": 1})
    second = hello.start_job("greet", inputs={"name": "b", "count": 1})
    for job_id in (first, second):
        hello.wait_job(job_id)
    new_ids = ["abcdef12-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "abcdef12-bbbb-4bbb-8bbb-bbbbbbbbbbbb"]
    make_ambiguous(hello, [first, second], new_ids)

    for args in (["logs", "abcdef12"], ["result", "abcdef12"], ["stop", "abcdef12"]):
        message = failed(run_cli(hello, *args))
        assert "abcdef12" in message.splitlines()[0]
        for job_id in new_ids:
            assert job_id in message
    lines = ok(run_cli(hello, "logs", "abcdef12-b")).stdout.splitlines()
    assert lines[0].endswith("hello b #0")
    assert "no job with id" in failed(run_cli(hello, "logs", "0123456789"))


def test_json_outputs_parse(hello: RunningDaemon) -> None:
    created = json.loads(ok(run_cli(hello, "run", "greet", "-i", "name=J", "--json")).stdout)
    assert created["status"] == "pending"
    hello.wait_job(created["id"])
    documents: dict[str, Any] = {}
    for args in (
        ["status", "--json"],
        ["jobs", "--json"],
        ["jobs", "--all", "--json"],
        ["module", "list", "--json"],
        ["logs", created["id"], "--json"],
        ["result", created["id"], "--raw"],
        ["result", created["id"], "--json"],
        ["config", "--json"],
    ):
        documents[" ".join(args)] = json.loads(ok(run_cli(hello, *args)).stdout)
    assert documents["status --json"]["module_count"] == len(
        documents["module list --json"]["modules"]
    )
    assert documents["jobs --json"]["jobs"][0]["id"] == created["id"]
    assert documents["result {} --raw".format(created["id"])]["total"] == 3
    follow = ok(run_cli(hello, "run", "greet", "-i", "name=K", "--json", "--follow"))
    lines = [json.loads(line) for line in follow.stdout.splitlines()]
    assert lines[0]["status"] == "pending" and lines[-1]["type"] == "end"
    assert [line["message"] for line in lines[1:-1]] == [f"hello K #{i}" for i in range(3)]


def test_daemon_errors_are_one_line(hello: RunningDaemon) -> None:
    assert "nope" in failed(run_cli(hello, "run", "nope"))
    message = failed(run_cli(hello, "run", "greet", "-i", "name=x", "-i", "count=many"))
    assert "count" in message and len(message.splitlines()) == 1
    assert "name" in failed(run_cli(hello, "run", "greet"))
    assert "duration" in failed(run_cli(hello, "run", "greet", "-i", "name=x", "-d", "soon"))
    assert "no job with id" in failed(run_cli(hello, "result", "ffffffff"))
    usage = run_cli(hello, "jobs", "--status", "sleeping")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_token(make_daemon: Callable[..., RunningDaemon], tmp_path: Path) -> None:
    daemon = make_daemon(token="s3cret-token")
    ok(
        run_cli(
            daemon,
            "module",
            "install",
            str(write_module(tmp_path, "greet", HELLO, inputs=HELLO_INPUTS)),
        )
    )
    clean = {k: v for k, v in daemon.env.items() if not k.startswith("SWEATPANTS_")}
    elsewhere = {
        **clean,
        "SWEATPANTS_DATA_DIR": str(tmp_path / "other"),
        "SWEATPANTS_URL": daemon.url,
    }

    # the same user's shell: the token comes from the daemon file, WebSocket included
    same_user = {**clean, "SWEATPANTS_DATA_DIR": str(daemon.data_dir)}
    done = ok(run_cli(daemon, "run", "greet", "-i", "name=T", "-f", env=same_user))
    assert "hello T #2" in done.stdout
    # elsewhere: no token is an error that says what to set, and never shows the token
    message = failed(run_cli(daemon, "jobs", env=elsewhere))
    assert "SWEATPANTS_API_AUTH_TOKEN" in message and "s3cret" not in message
    wrong = {**elsewhere, "SWEATPANTS_API_AUTH_TOKEN": "wrong"}
    assert "s3cret" not in failed(run_cli(daemon, "logs", "ffffffff", "-f", env=wrong))
    right = {**elsewhere, "SWEATPANTS_API_AUTH_TOKEN": "s3cret-token"}
    done = ok(run_cli(daemon, "run", "greet", "-i", "name=U", "-f", env=right))
    assert "hello U #2" in done.stdout


def test_ctrl_c_detaches_and_the_job_keeps_running(hello: RunningDaemon) -> None:
    import signal

    with subprocess.Popen(
        [*CLI, "run", "greet", "-i", "name=C", "-i", "count=1000", "-i", "pause=0.05", "-f"],
        env=cli_env(hello),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # a log line: the stream is open
        assert "hello C #0" in first
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Detached" in err and "Traceback" not in err
    job_id = err.split("Started job ", 1)[1].split()[0]
    assert hello.job(job_id)["status"] == "running"
    ok(run_cli(hello, "stop", job_id, "--wait"))


@pytest.mark.slow
def test_follow_outlives_a_daemon_restart(hello: RunningDaemon) -> None:
    """The stream reconnects after the daemon restarts, repeating no entry, until the end."""
    args = ["run", "greet", "-i", "name=R", "-i", "count=20", "-i", "pause=0.2", "-f", "--json"]
    with subprocess.Popen(
        [*CLI, *args], env=cli_env(hello), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        created = json.loads(process.stdout.readline())
        first_log = json.loads(process.stdout.readline())
        assert first_log["message"] == "hello R #0"
        hello.stop()
        hello.restart()
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    lines = [first_log, *(json.loads(line) for line in out.splitlines())]
    ids = [line["id"] for line in lines if line.get("type") == "log"]
    assert ids == sorted(set(ids))  # nothing shown twice, in order
    end = lines[-1]
    assert (end["type"], end["id"], end["status"]) == ("end", created["id"], "completed")
    assert any("resum" in str(line.get("message")) for line in lines)
