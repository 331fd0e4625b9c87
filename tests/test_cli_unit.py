"""The CLI's parsing, formatting and daemon lookup, in-process (no daemon needed)."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sweatpants.cli.client import error_from_body
from sweatpants.cli.commands.jobs import key_value
from sweatpants.cli.errors import EXIT_USAGE, CliError
from sweatpants.cli.formatting import elapsed_text, job_runtime, local_time, progress_text
from sweatpants.cli.main import build_parser, main, split_app_arguments
from sweatpants.cli.output import Output, wants_colour
from sweatpants.cli.target import normalize_url, resolve_target
from sweatpants.config import Settings
from sweatpants.version import __version__


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sweatpants {__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert "usage: sweatpants" in capsys.readouterr().err


def test_serve_takes_h_as_host_and_keeps_help(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["serve", "-h", "0.0.0.0", "-p", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    assert build_parser().parse_args(["serve", "--port", "0"]).port == 0  # any free port
    assert main(["serve", "--help"]) == 0
    assert "--host HOST, -h HOST" in capsys.readouterr().out


@pytest.mark.parametrize("port", ["abc", "70000", "-1"])
def test_serve_rejects_bad_port(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", port]) == EXIT_USAGE
    assert "port" in capsys.readouterr().err


def test_app_passes_every_argument_on() -> None:
    assert split_app_arguments(["app", "--minimized", "--help"]) == (
        ["app"],
        ["--minimized", "--help"],
    )
    assert split_app_arguments(["--url", "x", "app", "-v"]) == (["--url", "x", "app"], ["-v"])
    assert split_app_arguments(["run", "app", "-f"]) == (["run", "app", "-f"], [])


def test_common_options_before_or_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--url", "http://127.0.0.1:1", "jobs"])
    after = parser.parse_args(["jobs", "--url", "http://127.0.0.1:2", "--json"])
    assert before.url == "http://127.0.0.1:1" and before.json is False
    assert after.url == "http://127.0.0.1:2" and after.json is True


def test_run_options() -> None:
    args = build_parser().parse_args(
        ["run", "hello", "-i", "name=a=b", "--input", "n=2", "-s", "delay=1", "-d", "2h", "-f"]
    )
    assert args.module_id == "hello"
    assert dict(args.inputs) == {"name": "a=b", "n": "2"}
    assert dict(args.settings) == {"delay": "1"}
    assert (args.duration, args.follow) == ("2h", True)


def test_key_value_reads_files(tmp_path: Path) -> None:
    data = tmp_path / "urls.json"
    data.write_text('["https://a", "https://b"]')
    assert key_value(f"urls=@{data}") == ("urls", '["https://a", "https://b"]')
    assert key_value("handle=@@me") == ("handle", "@me")
    assert key_value("empty=") == ("empty", "")


@pytest.mark.parametrize("text", ["novalue", "=x", f"k=@{os.devnull}/missing"])
def test_key_value_refuses(text: str) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        key_value(text)


def test_bad_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "hello", "-i", "oops"]) == EXIT_USAGE
    assert "expected key=value, got 'oops'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.84, "0.8s"),
        (9.0, "9s"),
        (45.7, "45s"),
        (200, "3m 20s"),
        (8100, "2h 15m"),
        (273600, "3d 4h"),
    ],
)
def test_elapsed_text(seconds: float, text: str) -> None:
    assert elapsed_text(seconds) == text


def test_progress_and_runtime() -> None:
    assert progress_text({"done": 30, "total": 100}) == "30/100 (30%)"
    assert progress_text({"done": 7, "total": None}) == "7"
    assert progress_text(None) == ""
    job = {"started_at": "2024-01-15T10:30:00.000Z", "completed_at": "2024-01-15T12:45:30.000Z"}
    assert job_runtime(job) == "2h 15m"
    running = {"started_at": "2024-01-15T10:30:00.000Z", "completed_at": None}
    assert job_runtime(running, now=datetime(2024, 1, 15, 10, 31, 5, tzinfo=UTC)) == "1m 5s"
    assert job_runtime({"started_at": None}) == ""
    assert local_time("2024-01-15T10:30:05.123Z").startswith("2024-01-1")
    assert local_time(None) == ""


def test_table_is_aligned_and_plain_when_not_a_tty() -> None:
    stdout = io.StringIO()
    out = Output(stdout=stdout, stderr=io.StringIO())
    out.table(["ID", "STATUS"], [["3f2a9c1e", "running"], ["ab", "failed"]], [["red"] * 2] * 2)
    assert stdout.getvalue().splitlines() == [
        "ID        STATUS",
        "3f2a9c1e  running",
        "ab        failed",
    ]


def test_colour_only_on_a_tty_without_no_color() -> None:
    assert wants_colour(FakeTty(), {}) is True
    assert wants_colour(FakeTty(), {"NO_COLOR": ""}) is False
    assert wants_colour(io.StringIO(), {}) is False
    tty = FakeTty()
    out = Output(stdout=tty, stderr=io.StringIO())
    if out.colour:  # depends on NO_COLOR in the test environment
        out.table(["A"], [["x"]], [["red"]])
        assert "\x1b[31mx\x1b[0m" in tty.getvalue()


def test_api_error_shapes() -> None:
    ours = error_from_body(
        {"detail": "prefix is ambiguous", "error": "ambiguous_id", "matches": ["a1", "a2"]}, 409
    )
    assert (ours.detail, ours.code, ours.matches) == (
        "prefix is ambiguous",
        "ambiguous_id",
        ["a1", "a2"],
    )
    fastapi = error_from_body({"detail": [{"loc": ["body", "module_id"], "msg": "required"}]}, 422)
    assert fastapi.detail == "module_id: required"
    assert error_from_body({"detail": "no", "error": "unauthorized"}, 401).extra


def test_normalize_url() -> None:
    assert normalize_url("127.0.0.1:8420/") == "http://127.0.0.1:8420"
    assert normalize_url("HTTP://localhost:1") == "http://localhost:1"
    with pytest.raises(CliError):
        normalize_url("ftp://x")


def write_daemon_file(data_dir: Path, url: str, pid: int, token: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    record = {"url": url, "pid": pid, "version": __version__, "token": token}
    (data_dir / "daemon.json").write_text(json.dumps(record))


def test_target_precedence_and_token(tmp_path: Path) -> None:
    env = {"SWEATPANTS_DATA_DIR": str(tmp_path)}
    assert resolve_target(None, env).url == "http://127.0.0.1:8420"
    # a live daemon's record is used when host and port are left at their defaults
    write_daemon_file(tmp_path, "http://127.0.0.1:9001", os.getpid(), "from-file")
    target = resolve_target(None, env)
    assert (target.url, target.token) == ("http://127.0.0.1:9001", "from-file")
    # the file's token goes only to the URL the file names
    other = resolve_target("http://127.0.0.1:9002", env)
    assert (other.url, other.token, other.source) == ("http://127.0.0.1:9002", "", "--url")
    from_env = resolve_target(None, {**env, "SWEATPANTS_URL": "127.0.0.1:9001"})
    assert (from_env.source, from_env.token) == ("SWEATPANTS_URL", "from-file")
    # an explicit port, or the environment's token, wins
    assert resolve_target(None, {**env, "SWEATPANTS_API_PORT": "9003"}).url.endswith(":9003")
    token_env = {**env, "SWEATPANTS_API_AUTH_TOKEN": "from-env"}
    assert resolve_target(None, token_env).token == "from-env"


def test_target_ignores_a_dead_daemons_record(tmp_path: Path) -> None:
    write_daemon_file(tmp_path, "http://127.0.0.1:9001", 2**22 + 12345, "stale")
    settings = Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path)})
    target = resolve_target(None, {}, settings)
    assert (target.url, target.token) == ("http://127.0.0.1:8420", "")
