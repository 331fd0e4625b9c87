"""The agent skills in skills/ never drift from what Sweatpants does: every command and request
they show in a fenced `sh` block runs, in order, against a real daemon (with a token), each
file they show (```json module.json, ```python main.py) is written where the commands expect
it, and every `sweatpants` line of any other block is a command line the CLI accepts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sweatpants.cli.main import build_parser
from sweatpants.modules.manifest import Manifest
from sweatpants.modules.schema import schema_problems
from tests.support.daemon import RunningDaemon
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ROOT / "skills"
TOKEN = "skills-token"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
SKILL_FILES = sorted(SKILLS.glob("*/SKILL.md"))


def blocks(path: Path) -> list[tuple[str, str | None, str]]:
    """(language, file name or None, text) of each fenced block, in order."""
    found = []
    for match in FENCE.finditer(path.read_text()):
        info = match.group(1).split()
        found.append((info[0] if info else "", info[1] if len(info) > 1 else None, match.group(2)))
    return found


def script(path: Path) -> str:
    """The skill as one bash script: its sh blocks, and its files written by heredoc."""
    parts = ["set -euo pipefail -x"]
    for language, name, text in blocks(path):
        if language == "sh":
            parts.append(text)
        elif name is not None:
            assert "SKILL_EOF" not in text
            parts.append(f"cat > {shlex.quote(name)} <<'SKILL_EOF'\n{text}SKILL_EOF")
    return "\n".join(parts) + "\n"


def test_there_are_two_skills_with_their_front_matter() -> None:
    assert [p.parent.name for p in SKILL_FILES] == ["sweatpants", "sweatpants-module-creator"]
    for path in SKILL_FILES:
        match = FRONT_MATTER.match(path.read_text())
        assert match, f"{path}: starts with a --- front matter block"
        fields = dict(line.split(": ", 1) for line in match.group(1).splitlines())
        assert fields["name"] == path.parent.name
        assert 40 < len(fields["description"]) <= 1024 and "Use when" in fields["description"]


@pytest.mark.parametrize("path", SKILL_FILES, ids=lambda p: p.parent.name)
def test_every_sweatpants_line_is_a_command_the_cli_accepts(path: Path) -> None:
    parser = build_parser()
    checked = 0
    for _language, _name, text in blocks(path):
        for line in text.replace("\\\n", " ").splitlines():
            line = re.sub(r"^.*\$\(", "", line.split(" #", 1)[0]).rstrip(")").strip()
            if not line.startswith("sweatpants "):
                continue
            words = shlex.split(line.split(" > ", 1)[0].split(" || ", 1)[0])
            try:
                parser.parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"{path.parent.name}: the CLI refuses {line!r}")
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("path", SKILL_FILES, ids=lambda p: p.parent.name)
def test_module_json_examples_fit_the_schema(path: Path) -> None:
    for language, name, text in blocks(path):
        if language == "json" and name == "module.json":
            assert schema_problems(text, json.loads(text)) == []
            assert Manifest.parse(json.loads(text)).id


@pytest.fixture(scope="module")
def skills_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    daemon = RunningDaemon(tmp_path_factory.mktemp("skills") / "data", token=TOKEN)
    daemon.start()
    yield daemon
    daemon.stop()


def run_skill(path: Path, daemon: RunningDaemon, cwd: Path) -> str:
    require_tool("curl", "curl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "SWEATPANTS_URL": daemon.url,
            "SWEATPANTS_API_AUTH_TOKEN": TOKEN,
            "SWEATPANTS_DATA_DIR": str(cwd / "cli-data"),
        }
    )
    done = subprocess.run(
        ["bash", "-c", script(path)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{path.parent.name} failed (exit {done.returncode}):\n{said[-6000:]}"
    )
    return said


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_driving_skill_runs(skills_daemon: RunningDaemon, tmp_path: Path) -> None:
    said = run_skill(SKILLS / "sweatpants" / "SKILL.md", skills_daemon, tmp_path)
    assert "Hello, Ada! (3/3)" in said and "Hello, Grace! (2/2)" in said
    assert '"field":"inputs.count"' in said.replace(" ", "")
    assert (tmp_path / "hello-results.ndjson").read_text().count("\n") == 2
    statuses = {job["status"] for job in skills_daemon.client().get("/jobs").json()["jobs"]}
    assert statuses == {"completed", "stopped"}


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_module_creator_skill_runs(skills_daemon: RunningDaemon, tmp_path: Path) -> None:
    said = run_skill(SKILLS / "sweatpants-module-creator" / "SKILL.md", skills_daemon, tmp_path)
    assert "1 passed" in said  # the template's own test
    assert "OK: primes 1.0.0 (Primes in main.py; 3 inputs, 0 settings)" in said
    assert "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]" in said
    assert '"primes": 25' in said and "669 primes up to 5000" in said
    jobs = skills_daemon.client().get("/jobs", params={"module_id": "primes"}).json()["jobs"]
    assert [job["status"] for job in jobs] == ["completed"]
