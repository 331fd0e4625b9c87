"""The module kit: `sweatpants module new | check | run`, the JSON Schema of module.json and
`GET /schema/module.json`.

The unit tests write and check folders in-process; the live ones run the real CLI as a
person would (new → check → run → Ctrl+C → run again resumes → install → a job of the daemon
completes) and fetch the schema from a real daemon.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sweatpants.cli.main import main
from sweatpants.modules.check import check_module
from sweatpants.modules.scaffold import TEMPLATES, new_module
from sweatpants.modules.schema import load_schema, schema_problems, value_lines
from tests.support.daemon import RunningDaemon, wait_for

ROOT = Path(__file__).resolve().parent.parent


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "sweatpants", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def manifest_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "module.json").read_text())
    return data


def rewrite(folder: Path, data: dict[str, Any]) -> None:
    (folder / "module.json").write_text(json.dumps(data, indent=2))


# ----- new and check (in-process)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_writes_a_module_that_checks(tmp_path: Path, template: str) -> None:
    folder = tmp_path / "my-mod"
    written = new_module(folder, "my-mod", template)
    assert sorted(p.name for p in written) == [
        "README.md", "main.py", "module.json", "test_module.py"
    ]  # fmt: skip
    report = check_module(folder)
    assert report.ok, [str(p) for p in report.problems]
    assert report.class_name == "MyMod"
    assert report.manifest is not None and report.manifest.id == "my-mod"
    main_py = (folder / "main.py").read_text()
    assert "save_checkpoint" in main_py and "progress" in main_py
    assert "{{" not in "".join(p.read_text() for p in written)


def test_new_refuses_a_bad_name_and_a_folder_with_files(tmp_path: Path, capsys: Any) -> None:
    assert main(["module", "new", "../evil", "--dir", str(tmp_path / "x")]) == 1
    assert "not a valid module id" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["module", "new", "taken", "--dir", str(tmp_path / "taken")]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


@pytest.fixture
def module_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    new_module(folder, "demo")
    return folder


def check_errors(folder: Path, capsys: Any) -> str:
    assert main(["module", "check", str(folder)]) == 1
    err: str = capsys.readouterr().err
    return err


def test_check_names_the_line_of_bad_json(module_folder: Path, capsys: Any) -> None:
    text = (module_folder / "module.json").read_text()
    (module_folder / "module.json").write_text(text.replace('"0.1.0"', "0.1.0"))
    err = check_errors(module_folder, capsys)
    assert "module.json line 5: not valid JSON: Expecting ',' delimiter (column 17)" in err


def test_check_names_an_unknown_type(module_folder: Path, capsys: Any) -> None:
    data = manifest_of(module_folder)
    data["inputs"][1]["type"] = "colour"
    rewrite(module_folder, data)
    err = check_errors(module_folder, capsys)
    line = value_lines(json.dumps(data, indent=2))[("inputs", 1, "type")]
    assert f"line {line}: field 'inputs[1].type': 'colour' is not a known type" in err


def test_check_names_a_select_without_options(module_folder: Path, capsys: Any) -> None:
    data = manifest_of(module_folder)
    select = next(f for f in data["inputs"] if f["type"] == "select")
    del select["options"]
    rewrite(module_folder, data)
    err = check_errors(module_folder, capsys)
    assert "field 'inputs[2]': 'options' is required for a select" in err


def test_check_names_min_above_max(module_folder: Path, capsys: Any) -> None:
    data = manifest_of(module_folder)
    data["inputs"][1].update({"min": 50, "max": 10})
    rewrite(module_folder, data)
    err = check_errors(module_folder, capsys)
    line = value_lines(json.dumps(data, indent=2))[("inputs", 1, "min")]
    assert f"line {line}: field 'inputs[1].min': 50 is greater than max 10" in err


def test_check_names_a_default_outside_the_options(module_folder: Path, capsys: Any) -> None:
    data = manifest_of(module_folder)
    data["inputs"][2]["default"] = "whisper"
    rewrite(module_folder, data)
    err = check_errors(module_folder, capsys)
    assert "field 'inputs[2].default': must be one of 'plain', 'shout'; got 'whisper'" in err


def test_check_names_the_line_of_an_import_error(module_folder: Path, capsys: Any) -> None:
    source = (module_folder / "main.py").read_text().splitlines()
    source.insert(10, "import no_such_package_here")
    (module_folder / "main.py").write_text("\n".join(source) + "\n")
    err = check_errors(module_folder, capsys)
    assert "main.py line 11: cannot be imported: ModuleNotFoundError" in err


def test_check_names_a_syntax_error_and_a_run_that_is_not_a_generator(
    module_folder: Path, capsys: Any
) -> None:
    (module_folder / "main.py").write_text("from sweatpants import Module\n\ndef broken(:\n")
    assert "main.py line 3: SyntaxError" in check_errors(module_folder, capsys)
    (module_folder / "main.py").write_text(
        "from sweatpants import Module\n\n\nclass Demo(Module):\n    def run(self, i, s):\n"
        "        return []\n"
    )
    assert "main.py line 5: Demo.run must be an async generator" in check_errors(
        module_folder, capsys
    )


def test_check_json_output(module_folder: Path, capsys: Any) -> None:
    assert main(["module", "check", str(module_folder), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is True and answer["id"] == "demo" and answer["problems"] == []


def test_the_earlier_engines_manifests_fit_the_schema() -> None:
    """Object-keyed fields, `json` and alias types, extra keys: what modules in the wild write."""
    wild = {
        "id": "wild",
        "name": "Wild",
        "version": 2,
        "author": "someone",
        "inputs": {
            "token": {"type": "secret", "required": True, "label": "API token"},
            "payload": {"type": "json", "default": '{"a": 1}'},
        },
        "settings": [{"id": "speed", "type": "float", "default": "1.5"}],
        "capabilities": ["proxy", "browser"],
    }
    text = json.dumps(wild)
    assert schema_problems(text, wild) == []
    assert load_schema()["properties"]["inputs"]["$ref"] == "#/$defs/fields"


# ----- run, install, and the served schema (real processes, a real daemon)


@pytest.fixture(scope="module")
def kit_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    daemon = RunningDaemon(tmp_path_factory.mktemp("kit") / "data", token="kit-token")
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.mark.live
@pytest.mark.timeout(300)
def test_new_check_run_resume_install_and_a_job_completes(
    kit_daemon: RunningDaemon, tmp_path: Path
) -> None:
    made = cli("module", "new", "counter", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "counter"
    checked = cli("module", "check", "counter", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "OK: counter 0.1.0 (Counter in main.py; 4 inputs, 0 settings)" in checked.stdout

    # Once, to stdout: NDJSON results, log lines on stderr.
    once = cli("module", "run", "counter", "-i", "count=3", "-i", "delay=0", "-i", "style=shout",
               cwd=tmp_path)  # fmt: skip
    assert once.returncode == 0, once.stderr
    assert [json.loads(line) for line in once.stdout.splitlines()] == [
        {"step": n, "text": f"HELLO #{n}"} for n in (1, 2, 3)
    ]
    assert "INFO    done: 3 steps" in once.stderr and "completed, 3 results" in once.stderr
    assert not (folder / ".sweatpants-checkpoint.json").exists()

    # A bad input is refused before anything runs, naming the field.
    refused = cli("module", "run", "counter", "-i", "count=0", cwd=tmp_path)
    assert refused.returncode == 1
    assert "error: inputs.count: must be at least 1, got 0" in refused.stderr

    # Ctrl+C asks the module to stop; the next run resumes from the checkpoint and the
    # output file holds every result exactly once.
    output = tmp_path / "out.ndjson"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env["PYTHONPATH"] = str(ROOT)
    long_run = subprocess.Popen(
        [sys.executable, "-m", "sweatpants", "module", "run", "counter", "-i", "count=200",
         "-i", "delay=0.05", "--output", str(output)],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    checkpoint = folder / ".sweatpants-checkpoint.json"
    try:
        wait_for(
            lambda: checkpoint.exists() and json.loads(checkpoint.read_text())["results"] >= 3,
            60, what="three checkpoints",
        )  # fmt: skip
        long_run.send_signal(signal.SIGINT)
        _, stderr = long_run.communicate(timeout=60)
    finally:
        if long_run.poll() is None:
            long_run.kill()
    assert long_run.returncode == 3, stderr
    assert "the module is asked to stop" in stderr and "stopped after step" in stderr
    kept = json.loads(checkpoint.read_text())
    assert 3 <= kept["results"] < 200
    resumed = cli("module", "run", "counter", "-i", "count=200", "-i", "delay=0",
                  "--output", str(output), cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after step {kept['checkpoint']['done']} of 200" in resumed.stderr
    steps = [json.loads(line)["step"] for line in output.read_text().splitlines()]
    assert steps == list(range(1, 201))
    assert not checkpoint.exists()

    # Into the daemon: a job of the same module completes there too.
    env_url = {"SWEATPANTS_URL": kit_daemon.url, "SWEATPANTS_API_AUTH_TOKEN": "kit-token"}
    installed = subprocess.run(
        [sys.executable, "-m", "sweatpants", "module", "install", str(folder)],
        env={**env, **env_url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    job_id = kit_daemon.start_job("counter", inputs={"count": 4, "delay": 0})
    job = kit_daemon.wait_job(job_id)
    assert job["status"] == "completed", job
    assert [r["step"] for r in kit_daemon.results(job_id)] == [1, 2, 3, 4]
    assert job["progress"] == {"done": 4, "total": 4}


@pytest.mark.live
def test_the_schema_is_served_without_a_token(kit_daemon: RunningDaemon) -> None:
    import httpx

    answer = httpx.get(f"{kit_daemon.url}/schema/module.json", timeout=30)  # no token sent
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/schema+json")
    assert answer.json() == load_schema()
    assert httpx.get(f"{kit_daemon.url}/modules", timeout=30).status_code == 401


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.parametrize("template", ["proxy", "browser"])
def test_the_proxy_and_browser_templates_pass_their_own_test(tmp_path: Path, template: str) -> None:
    """What `module new` writes works as it is: its test_module.py (a page served on
    127.0.0.1, fetched with proxied_request or read in a private Chromium by get_browser,
    through `module run`) passes."""
    folder = tmp_path / f"my-{template}"
    new_module(folder, f"my-{template}", template)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
