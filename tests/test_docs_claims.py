"""Docs are claims: the facts README.md and docs/ state about options, defaults, limits and
the command line are read from the docs here and checked against the code that decides them.
(Behaviour the docs describe is shown by the live tests each section names.)"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from sweatpants.api.paging import MAX_JOBS, MAX_LOGS, MAX_RESULTS
from sweatpants.cli import errors as cli_errors
from sweatpants.cli.main import build_parser
from sweatpants.config import OPTIONS, Settings
from sweatpants.errors import InvalidInput
from sweatpants.modules.manifest import Manifest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()
API_DOC = (ROOT / "docs" / "api.md").read_text()


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose first header cell is `first_header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_readme_configuration_defaults_are_the_code_defaults() -> None:
    documented = {re.sub(r"[`]", "", row[0]): row[1] for row in table_rows(README, "variable")}
    defaults = {item.name: item.default for item in fields(Settings)}
    checked = 0
    for option in OPTIONS:
        cell = documented[option.env]
        value = defaults[option.name]
        if value is MISSING:  # computed when settings load: the per-user data directory
            assert option.name == "data_dir" and "per-user data dir" in cell
            continue
        if value in (None, "", ()):
            # unset, derived from DATA_DIR, found at run time, or Ray's own lookup
            assert re.match(r"unset|`DATA_DIR/|found automatically|`auto`", cell), (option, cell)
            continue
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert cell.startswith(f"`{shown}`"), f"{option.env}: README says {cell}, code {shown}"
        checked += 1
    assert checked >= 10


def test_api_doc_states_the_page_caps() -> None:
    assert (
        f"A\npage holds at most {MAX_JOBS:,} jobs, {MAX_LOGS:,} log entries or "
        f"{MAX_RESULTS:,} results." in API_DOC
    )
    assert f"the newest {MAX_JOBS:,} jobs" in API_DOC
    assert f"results 1 to {MAX_RESULTS:,} with `next_cursor` {MAX_RESULTS}" in API_DOC


def test_cli_doc_exit_codes_are_the_cli_s() -> None:
    documented = {int(row[0]) for row in table_rows(CLI_DOC, "code")}
    constants = {value for name, value in vars(cli_errors).items() if name.startswith("EXIT_")}
    assert documented == constants


def subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            return parser
        parser = actions[0].choices[word]
    return parser


def documented_commands() -> list[tuple[str, list[str], list[str]]]:
    """(usage, command words, option strings) for each row of docs/cli.md's command table."""
    found = []
    for row in table_rows(CLI_DOC, "command"):
        usage = re.sub(r"\\\|", "|", row[0]).strip("`")
        words = []
        for word in usage.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        options = re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])", usage)
        found.append((usage, words, options))
    return found


@pytest.mark.parametrize(
    ("usage", "words", "options"), documented_commands(), ids=lambda v: str(v)[:40]
)
def test_each_documented_command_and_option_exists(
    usage: str, words: list[str], options: list[str]
) -> None:
    parser = subparser(build_parser(), words)
    assert parser.prog.split()[1:] == words, f"docs/cli.md: {usage}: no such command"
    known = set(parser._option_string_actions)
    if words == ["app"]:
        return  # every argument goes to the launcher
    missing = [option for option in options if option not in known]
    assert not missing, f"docs/cli.md documents {missing} for `{' '.join(words)}`: not accepted"


def option_default(words: list[str], option: str) -> object:
    parser = subparser(build_parser(), words)
    return parser._option_string_actions[option].default


def test_cli_doc_defaults_are_the_parser_s() -> None:
    rows: dict[str, str] = {}
    for row in table_rows(CLI_DOC, "command"):
        rows.setdefault(row[0].split()[0].strip("`"), row[1])  # the first row of each command
    logs = option_default(["logs"], "--limit")
    assert (
        f"the newest N entries ({logs}; more than the daemon's page of {MAX_LOGS:,}" in rows["logs"]
    )
    result = rows["result"]
    assert f"the first N results ({option_default(['result'], '--limit')})" in result


MODULES_DOC = (ROOT / "docs" / "modules.md").read_text()


def test_modules_doc_error_examples_are_what_the_loader_says(tmp_path: Path) -> None:
    examples = re.findall(r"`(?:/home/me/greeter/module\.json|\.\.\.): ([^`]+)`", MODULES_DOC)
    assert len(examples) == 3, examples
    cases = [
        {"id": "greeter", "name": "Greeter"},  # no version
        None,  # broken JSON: a missing comma on line 3
        {
            "id": "g",
            "name": "G",
            "version": "1",
            "inputs": [{"id": "a"}, {"id": "b"}, {"id": "c", "type": 3}],
        },
    ]
    for example, manifest in zip(examples, cases, strict=True):
        folder = tmp_path / f"case{cases.index(manifest)}"
        folder.mkdir()
        (folder / "main.py").write_text("")
        text = (
            '{\n  "id": "x",\n  "name": "X"\n  "version": "1"\n}'
            if manifest is None
            else json.dumps(manifest)
        )
        (folder / "module.json").write_text(text)
        with pytest.raises(InvalidInput) as caught:
            Manifest.load(folder)
        assert caught.value.detail.startswith(f"{folder / 'module.json'}: ")
        said = caught.value.detail.split(": ", 1)[1]
        if manifest is None:  # the docs show the shape; the position is this file's
            assert re.fullmatch(
                r"not valid JSON at line \d+ column \d+ \(Expecting ',' delimiter\)", said
            )
            assert example.startswith("not valid JSON at line") and example.endswith(
                "(Expecting ',' delimiter)"
            )
        else:
            assert said == example


def docs_code_block(text: str, after: str, language: str) -> str:
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(text, start)
    assert match, f"no ```{language} block after {after!r}"
    return match.group(1)


@pytest.mark.live
def test_the_smallest_module_of_the_docs_runs_and_resumes_counting(daemon) -> None:
    folder = daemon.modules_dir.parent / "src" / "greeter"
    folder.mkdir(parents=True)
    (folder / "module.json").write_text(docs_code_block(MODULES_DOC, "`module.json`:", "json"))
    (folder / "main.py").write_text(docs_code_block(MODULES_DOC, "`main.py`:", "python"))
    installed = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert installed.status_code == 200, installed.text
    job_id = daemon.start_job("greeter", inputs={"count": 2})  # name: its default, "world"
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [
        {"greeting": "Hello, world!", "n": 0},
        {"greeting": "Hello, world!", "n": 1},
    ]
    job = daemon.job(job_id)
    assert job["checkpoint"] == {"next": 2} and job["progress"] == {"done": 2, "total": 2}
    assert [e["message"] for e in daemon.logs(job_id)] == ["greeting 0", "greeting 1"]


@pytest.mark.live
def test_the_hello_example_once_uninstalled_stays_uninstalled(daemon) -> None:
    client = daemon.client()
    assert "hello" in {m["id"] for m in client.get("/modules").json()["modules"]}
    assert client.delete("/modules/hello").status_code == 200
    assert (daemon.data_dir / "examples-offered.json").is_file()
    daemon.stop()
    daemon.restart()
    assert "hello" not in {m["id"] for m in daemon.client().get("/modules").json()["modules"]}


def constant(path: str, name: str) -> float:
    """A module-level number in a source file (read, not imported: Ray may be absent)."""
    found = re.search(rf"^{name} = ([0-9_.]+)(?: \* ([0-9_.]+))?", (ROOT / path).read_text(), re.M)
    assert found, f"{path} has no {name}"
    return float(found.group(1)) * float(found.group(2) or 1)


def test_documented_timings_are_the_code_s() -> None:
    capabilities = (ROOT / "docs" / "capabilities.md").read_text()
    idle = constant("sweatpants/capabilities/pool.py", "IDLE_SECONDS")
    assert (
        f"after {idle / 60:g} minutes without a lease the pool stops its browsers" in capabilities
    )
    scale_out = " ".join((ROOT / "docs" / "scale-out.md").read_text().split())
    start = constant("sweatpants/jobs/ray/bridge.py", "START_TIMEOUT")
    assert f"within {start:g} seconds" in scale_out
    dashboard = " ".join((ROOT / "docs" / "dashboard.md").read_text().split())
    overview = (ROOT / "ui" / "js" / "views" / "overview.js").read_text()
    assert "loadStatus().catch(() => {}), 30_000)" in overview
    assert "a refresh of the uptime figure every 30 seconds" in dashboard
