"""Packaging: shipped files are found, the wheel is complete, and it runs from a fresh venv.

The slow end-to-end test builds the wheel and sdist from this checkout, installs the wheel
into a new virtualenv in a temp directory (dependencies come from pip's cache and this
machine's package indexes), starts `sweatpants serve` from that venv in an unrelated
directory, runs the bundled `hello` module through the API and reads its results.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants import frozen, paths
from sweatpants.config import OPTIONS
from sweatpants.errors import Unavailable
from sweatpants.version import __version__
from tests.support.daemon import LISTENING, alive, descendants, wait_for
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
HELLO_COUNT = 3


def run(args: Sequence[str | Path], timeout: float, **kwargs: Any) -> str:
    """Run a command to completion; fail with its output when it fails."""
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {done.returncode}:\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a process that must not see this checkout or our settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SWEATPANTS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(extra)
    return env


class ServedDaemon:
    """`<command> serve` started as a subprocess in `cwd` on port 0: `wait_ready` reads the port
    it got from its start-up line (`listening on http://127.0.0.1:PORT`)."""

    def __init__(
        self,
        command: Sequence[str | Path],
        cwd: Path,
        data_dir: Path,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = 0  # any free port; wait_ready reads the one the daemon got
        self.url = ""
        self.log_path = cwd / f"{data_dir.name}-daemon.log"
        env = clean_env(
            SWEATPANTS_DATA_DIR=str(data_dir),
            SWEATPANTS_API_PORT="0",
            SWEATPANTS_STOP_GRACE_SECONDS="2",
        )
        env.update(extra_env or {})
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(part) for part in command] + ["serve"],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.client = httpx.Client(timeout=30)  # its base_url is set once the port is known

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_ready(self, timeout: float) -> dict[str, object]:
        def answered() -> dict[str, object] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited {self.process.returncode}:\n{self.log()}")
            if not self.port:
                listening = LISTENING.search(self.log_path.read_bytes())
                if not listening:
                    return None
                self.port = int(listening.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                self.client.base_url = httpx.URL(self.url)
            try:
                response = self.client.get("/status", timeout=2)
            except httpx.HTTPError:
                return None
            return response.json() if response.status_code == 200 else None

        status: dict[str, object] = wait_for(
            answered, timeout, interval=0.1, what="the daemon to answer /status"
        )
        return status

    def run_hello(
        self, shipped_hello: Path, timeout: float
    ) -> tuple[dict[str, object], list[dict[str, object]]]:
        """Run the bundled `hello` module and wait for it; its final job and results.

        The daemon installs `hello` from the copy shipped in the package on first start.
        """
        shipped = json.loads((shipped_hello / "module.json").read_text())
        modules = self.client.get("/modules").json()["modules"]
        assert "hello" in {module["id"] for module in modules}, (modules, self.log())
        assert self.client.get("/modules/hello").json()["version"] == shipped["version"]
        started = self.client.post(
            "/jobs",
            json={
                "module_id": "hello",
                "inputs": {"name": "wheel", "count": HELLO_COUNT, "delay": 0},
            },
        )
        assert started.status_code in (200, 201), started.text
        job_id = started.json()["id"]

        def ended() -> dict[str, object] | None:
            job = self.client.get(f"/jobs/{job_id}").json()
            return job if job["status"] in ("completed", "failed", "stopped") else None

        job = wait_for(ended, timeout, interval=0.1, what=f"job {job_id} to end")
        results = self.client.get(f"/jobs/{job_id}/results").json()["results"]
        return job, results

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL) and check no process it started is left."""
        self.client.close()
        started = descendants(self.process.pid)
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
        # Job runners live in their own sessions and end when the daemon closes their pipes;
        # anything left in the daemon's session goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        wait_for(
            lambda: not [pid for pid in started if alive(pid)],
            20,
            interval=0.1,
            what=f"the daemon's processes {sorted(started)} to end",
        )


def check_hello(job: dict[str, object], results: list[dict[str, object]], log: str) -> None:
    assert job["status"] == "completed", (job, log)
    greetings = [result["data"]["greeting"] for result in results]  # type: ignore[index]
    assert greetings == [f"Hello, wheel! ({n}/{HELLO_COUNT})" for n in range(1, HELLO_COUNT + 1)]


# -- shipped files, from this checkout ------------------------------------------------------


def test_shipped_directories_are_found_in_the_checkout() -> None:
    assert (paths.ui_dir() / "index.html").is_file()
    assert (paths.assets_dir() / "sweatpants-48.png").is_file()
    assert (paths.examples_dir() / "hello" / "module.json").is_file()


def test_a_bundle_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled_ui = tmp_path / "sweatpants" / "ui"
    bundled_ui.mkdir(parents=True)
    (bundled_ui / "index.html").write_text("<html></html>")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.ui_dir() == bundled_ui


def test_missing_shipped_files_raise_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "PACKAGE_DIR", tmp_path / "site-packages" / "sweatpants")
    with pytest.raises(Unavailable, match="ui/ directory that ships with Sweatpants is missing"):
        paths.ui_dir()


def test_pip_runs_on_this_interpreter_when_not_frozen() -> None:
    assert frozen.pip_command() == [sys.executable, "-m", "pip"]


def test_frozen_app_without_a_python_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Unavailable, match=r"no Python of its own to run pip") as raised:
        frozen.pip_command()
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" in raised.value.detail


def test_frozen_app_uses_a_matching_python_with_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (tmp_path / name).symlink_to(sys.executable)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert frozen.pip_command() == [str(tmp_path / name), "-m", "pip"]


def test_frozen_entry_calls_freeze_support_before_anything_else() -> None:
    tree = ast.parse((PACKAGING / "pyinstaller" / "entry.py").read_text())
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    assert ast.unparse(body[0]) == "import multiprocessing"
    assert ast.unparse(body[1]) == "multiprocessing.freeze_support()"


# -- Linux desktop entry ---------------------------------------------------------------------


@pytest.mark.system
def test_desktop_entry_template_is_valid() -> None:
    validate = require_tool("desktop-file-validate", "desktop-file-utils")
    run([validate, PACKAGING / "linux" / "sweatpants.desktop"], timeout=30)


@pytest.mark.system
def test_install_script_puts_entry_and_icons_in_xdg_places_and_uninstall_removes_them(
    tmp_path: Path,
) -> None:
    validate = require_tool("desktop-file-validate", "desktop-file-utils")
    app_dir = tmp_path / "My Apps"
    app_dir.mkdir()
    program = app_dir / "sweatpants-app"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env = clean_env(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    run(
        ["sh", PACKAGING / "linux" / "install.sh", "--exec", program, "--autostart"],
        timeout=60,
        env=env,
    )
    entry = tmp_path / "data" / "applications" / "sweatpants.desktop"
    run([validate, entry], timeout=30)
    assert f'Exec="{program}"' in entry.read_text().splitlines()
    assert (tmp_path / "config" / "autostart" / "sweatpants.desktop").is_file()
    sizes = sorted(
        int(match.group(1))
        for png in paths.assets_dir().glob("sweatpants-*.png")
        if (match := re.fullmatch(r"sweatpants-(\d+)\.png", png.name))
    )
    assert sizes, "assets/ has no sweatpants-<size>.png icons"
    for size in sizes:
        icon = (
            tmp_path / "data" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "sweatpants.png"
        )
        assert icon.read_bytes() == (paths.assets_dir() / f"sweatpants-{size}.png").read_bytes()

    run(["sh", PACKAGING / "linux" / "uninstall.sh"], timeout=60, env=env)
    assert not entry.exists()
    assert not (tmp_path / "config" / "autostart" / "sweatpants.desktop").exists()
    assert not list((tmp_path / "data" / "icons").rglob("sweatpants.png"))


def test_install_script_without_a_program_fails_clearly(tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), PATH="/usr/bin:/bin")
    done = subprocess.run(
        ["sh", str(PACKAGING / "linux" / "install.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "cannot find sweatpants-app" in done.stderr


# -- headless servers: systemd ---------------------------------------------------------------


@pytest.mark.system
@pytest.mark.parametrize("unit", ["sweatpants.service", "user/sweatpants.service"])
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "systemd")
    text = (PACKAGING / "systemd" / unit).read_text()
    assert re.search(r"^ExecStart=\S*/sweatpants serve$", text, re.MULTILINE)
    assert "UMask=0077" in text
    # systemd-analyze insists that ExecStart exists: point it at a program that does.
    copy = tmp_path / "sweatpants.service"
    copy.write_text(re.sub(r"^ExecStart=.*$", "ExecStart=/bin/true serve", text, flags=re.M))
    user = ["--user"] if unit.startswith("user/") else []
    done = subprocess.run(
        [analyze, *user, "verify", str(copy)],
        capture_output=True,
        text=True,
        env=clean_env(XDG_RUNTIME_DIR=str(tmp_path)),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr
    )


def test_system_unit_keeps_data_private() -> None:
    text = (PACKAGING / "systemd" / "sweatpants.service").read_text()
    assert "StateDirectory=sweatpants" in text
    assert "StateDirectoryMode=0700" in text
    assert "Environment=SWEATPANTS_DATA_DIR=/var/lib/sweatpants" in text


def test_example_env_file_names_only_real_settings_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweatpants.config import Settings

    example = PACKAGING / "systemd" / "sweatpants.env.example"
    known = {option.env for option in OPTIONS}
    named = set(re.findall(r"^#?(SWEATPANTS_[A-Z_]+)=", example.read_text(), re.MULTILINE))
    assert named and named <= known, named - known
    for name in known:
        monkeypatch.delenv(name, raising=False)
    # Every line uncommented must still be a valid settings file.
    active = tmp_path / "sweatpants.env"
    active.write_text(
        re.sub(r"^#(SWEATPANTS_)", r"\1", example.read_text(), flags=re.MULTILINE)
        .replace("/var/lib/sweatpants", str(tmp_path / "data"))
        .replace("/usr/bin/chromium", "/bin/true")
    )
    monkeypatch.setenv("SWEATPANTS_ENV_FILE", str(active))
    settings = Settings.load()
    assert settings.api_port == 8420
    assert settings.data_dir == tmp_path / "data"


def test_changelog_and_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc|\.dev)\d+)?", __version__)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    unreleased = changelog.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    for heading in ("### Added", "### Changed", "### Fixed"):
        assert heading in unreleased
    assert "MIT License" in (ROOT / "LICENSE").read_text()


# -- the wheel and sdist, built and installed ------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Build sdist, then the wheel from the sdist (what `python -m build` does)."""
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    run([sys.executable, "-m", "build", "--outdir", out, ROOT], timeout=600, env=clean_env())
    print(f"\nbuilt wheel + sdist in {time.monotonic() - started:.1f} s")
    wheels = list(out.glob("sweatpants-*.whl"))
    sdists = list(out.glob("sweatpants-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    yield {"wheel": wheels[0], "sdist": sdists[0]}


def tracked_files(under: str) -> list[str]:
    out = run(["git", "ls-files", "--", under], timeout=60, cwd=ROOT)
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


@pytest.mark.slow
def test_wheel_contains_everything_needed_at_run_time(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"sweatpants-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}" in metadata
    assert f"sweatpants-{__version__}.dist-info/licenses/LICENSE" in names
    for source in tracked_files("sweatpants"):
        if not source.endswith((".pyc",)):
            assert source in names, f"{source} is not in the wheel"
    for top, inside in (("ui", "sweatpants/ui"), ("assets", "sweatpants/assets")):
        for source in tracked_files(top):
            assert inside + source[len(top) :] in names, f"{source} is not in the wheel"
    assert "sweatpants/ui/index.html" in names
    assert "sweatpants/examples/hello/module.json" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith(("tests/", "ui/", "assets/"))]


@pytest.mark.slow
def test_sdist_carries_sources_packaging_and_notices(built: dict[str, Path]) -> None:
    prefix = f"sweatpants-{__version__}/"
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.removeprefix(prefix) for name in sdist.getnames()}
    for needed in (
        "LICENSE",
        "CHANGELOG.md",
        "pyproject.toml",
        "setup.py",
        "ui/index.html",
        "constraints.txt",
    ):
        assert needed in names
    for source in tracked_files("packaging"):
        assert source in names, f"{source} is not in the sdist"
    assert not [name for name in names if "__pycache__" in name]


@pytest.mark.slow
@pytest.mark.live
@pytest.mark.timeout(900)
def test_wheel_in_a_fresh_venv_serves_and_runs_hello(
    built: dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", venv], timeout=300, env=clean_env())
    python = venv / "bin" / "python"
    run(
        [python, "-m", "pip", "install", "--disable-pip-version-check", built["wheel"]],
        timeout=800,
        env=clean_env(),
    )
    print(f"\nfresh venv + wheel installed in {time.monotonic() - started:.1f} s")
    sweatpants = venv / "bin" / "sweatpants"
    assert run([sweatpants, "--version"], timeout=60, env=clean_env()).strip().endswith(__version__)
    located = run(
        [
            python,
            "-c",
            "import sweatpants.paths as p; print(p.ui_dir(), p.assets_dir(), p.examples_dir())",
        ],
        timeout=60,
        env=clean_env(),
        cwd=tmp_path,
    ).split()
    assert all(Path(place).is_relative_to(venv) for place in located), located
    shipped_hello = Path(located[2]) / "hello"

    # The menu entry for a pip install: it starts the venv's sweatpants-app, icons from the wheel.
    xdg = clean_env(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        PATH=f"{venv / 'bin'}:/usr/bin:/bin",
    )
    run(["sh", PACKAGING / "linux" / "install.sh"], timeout=60, env=xdg)
    entry = (tmp_path / "xdg" / "applications" / "sweatpants.desktop").read_text().splitlines()
    assert f"Exec={venv / 'bin' / 'sweatpants-app'}" in entry
    assert (tmp_path / "xdg/icons/hicolor/256x256/apps/sweatpants.png").is_file()

    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    data_dir = tmp_path / "data"  # not created yet: the daemon makes it, private
    daemon = ServedDaemon([sweatpants], cwd=elsewhere, data_dir=data_dir)
    try:
        status = daemon.wait_ready(timeout=60)
        assert status["version"] == __version__
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        dashboard = daemon.client.get("/")
        assert dashboard.status_code == 200 and "<html" in dashboard.text.lower()
        docs = daemon.client.get("/docs/assets/redoc.standalone.js")  # /redoc works offline
        assert docs.status_code == 200 and len(docs.content) > 100_000, docs.text[:300]
        job, results = daemon.run_hello(shipped_hello, timeout=120)
        check_hello(job, results, daemon.log())
    finally:
        daemon.stop()
