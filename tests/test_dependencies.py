"""Every package sweatpants/ imports at run time is a declared dependency with a lower bound,
and constraints.txt pins each one (what CI and the frozen app install).

The imports are read from the sources (AST, lazy imports inside functions included; imports
under `if TYPE_CHECKING:` are for the type checker only and left out), so a new
`import something` that pyproject.toml does not declare fails here, not on a user's machine.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.modules import write_module

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sweatpants"
CONSTRAINTS = ROOT / "constraints.txt"
# Import names that are not their distribution's name.
DISTRIBUTION_OF = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "gi": "pygobject",
    "webview": "pywebview",
    "fastapi_offline": "fastapi-offline",
}
# Imports that only an extra brings; the code imports them only where that extra is installed.
EXTRA_OF = {"gi": "gui", "ray": "ray"}
# What CI and the frozen app install (scripts/setup-test-env, scripts/refresh-constraints).
CI_EXTRAS = ("dev", "gui", "ray", "build")
RUNTIME_EXTRAS = ("gui", "ray")  # extras that add run-time imports (dev and build add tools)
# Declared but never imported by name: data that the standard library reads where it applies.
DATA_ONLY = {"tzdata": "zoneinfo's time zones on Windows"}


def requirements(group: str | None) -> dict[str, Requirement]:
    """`[project] dependencies` (group None) or one extra, by canonical distribution name."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines: list[str] = (
        table["dependencies"] if group is None else table["optional-dependencies"][group]
    )
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def type_checking_only(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_time_imports() -> dict[str, list[str]]:
    """Top-level names of third-party modules imported by sweatpants/, with where."""
    found: dict[str, list[str]] = {}

    def visit(node: ast.AST, where: Path) -> None:
        for child in ast.iter_child_nodes(node):
            if type_checking_only(child):
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "sweatpants":
                    continue
                line = getattr(child, "lineno", 0)
                found.setdefault(top, []).append(f"{where.relative_to(ROOT)}:{line}")
            visit(child, where)

    for path in sorted(PACKAGE.rglob("*.py")):
        visit(ast.parse(path.read_text(), filename=str(path)), path)
    return found


def distribution(import_name: str) -> str:
    return canonicalize_name(DISTRIBUTION_OF.get(import_name, import_name))


def test_every_third_party_import_is_declared() -> None:
    imports = run_time_imports()
    assert {"fastapi", "httpx", "websockets", "uvicorn", "ray", "gi"} <= set(imports)
    base = requirements(None)
    missing = []
    for name, where in sorted(imports.items()):
        dist = distribution(name)
        extra = EXTRA_OF.get(name)
        declared = requirements(extra) if extra else base
        if dist not in declared:
            place = f"the [{extra}] extra" if extra else "[project] dependencies"
            missing.append(
                f"{name} (imported at {', '.join(where[:3])}): add {dist} with a lower bound that "
                f"works to {place} in pyproject.toml (or map it in DISTRIBUTION_OF if the "
                "distribution has another name)"
            )
    assert not missing, "\n".join(missing)


def test_every_declared_dependency_is_imported() -> None:
    """No stale declarations: each run-time dependency is something sweatpants/ imports."""
    imported = {distribution(name) for name in run_time_imports()}
    stale = [
        f"{name} ({group or 'dependencies'})"
        for group in (None, *RUNTIME_EXTRAS)
        for name in requirements(group)
        if name not in imported and name not in DATA_ONLY
    ]
    assert not stale, f"declared in pyproject.toml but never imported by sweatpants/: {stale}"


def test_the_import_name_mapping_matches_the_installed_distributions() -> None:
    """DISTRIBUTION_OF is right: where the package is installed, its metadata agrees."""
    providers = metadata.packages_distributions()
    checked = 0
    for name in run_time_imports():
        if name not in providers:
            continue  # not installed here (an extra this environment lacks)
        installed = {canonicalize_name(dist) for dist in providers[name]}
        assert distribution(name) in installed, (name, installed)
        checked += 1
    assert checked >= 10


def test_every_run_time_dependency_has_a_lower_bound() -> None:
    unbounded = [
        str(requirement)
        for group in (None, *RUNTIME_EXTRAS)
        for requirement in requirements(group).values()
        if not any(spec.operator in (">=", "==", "~=", ">") for spec in requirement.specifier)
    ]
    assert not unbounded, f"give these a lower bound that works: {unbounded}"


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"constraints.txt: {line!r} is not NAME==VERSION"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def test_constraints_pin_every_declared_dependency_within_its_bounds() -> None:
    pinned = pins()
    problems = []
    for group in (None, *CI_EXTRAS):
        for name, requirement in requirements(group).items():
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue  # another platform's (tzdata on Windows): this one cannot pin it
            if name not in pinned:
                problems.append(f"{name} is not pinned")
            elif not requirement.specifier.contains(pinned[name], prereleases=True):
                problems.append(f"{name}=={pinned[name]} is outside {requirement}")
    assert not problems, (
        "constraints.txt is stale: install the new requirement in .venv, run the tests, then "
        f"scripts/refresh-constraints: {problems}"
    )


def test_constraints_install_anywhere() -> None:
    """Only registry releases: no local build (`+cpu`), not the project, not the installers."""
    pinned = pins()
    assert "sweatpants" not in pinned
    assert not {"pip", "setuptools", "wheel"} & set(pinned)
    local = [f"{name}=={version}" for name, version in pinned.items() if Version(version).local]
    assert not local, f"local builds cannot be installed elsewhere: {local}"


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="not in a virtual environment")
def test_this_environment_has_the_pinned_versions() -> None:
    """CI installs with -c constraints.txt: what the tests run on is what is pinned."""
    wrong = []
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if installed != version:
            wrong.append(f"{name} {installed} (pinned {version})")
    assert not wrong, (
        "this environment is not the pinned one: run scripts/setup-test-env, or, if you moved "
        f"these on purpose and the tests pass, scripts/refresh-constraints: {wrong}"
    )


def lower_bound(name: str) -> str:
    requirement = requirements(None)[canonicalize_name(name)]
    bounds = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    assert len(bounds) == 1, requirement
    return bounds[0]


FOLLOWED = """
from sweatpants import Module

class Followed(Module):
    async def run(self, inputs, settings):
        for i in range(3):
            await self.log(f"line {i}")
        yield {"done": True}
"""

LEASE_LIKE = """
import asyncio, json, sys
import websockets
from websockets.asyncio.client import connect
from sweatpants.web.sockets import direct

async def main():
    socket = await connect(sys.argv[1], ping_interval=None, open_timeout=15, **direct(connect))
    first = json.loads(await socket.recv())
    await socket.close()
    print(websockets.__version__, first["type"])

asyncio.run(main())
"""


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_lowest_websockets_admitted_works(daemon, tmp_path: Path) -> None:
    """The CLI's `run --follow` (sync client) and the SDK's way of opening a socket to the
    daemon (asyncio client, as the browser lease does) on the lowest websockets that
    pyproject.toml admits, installed from the registry beside this environment."""
    lowest = lower_bound("websockets")
    target = tmp_path / "lowest"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--target", str(target), f"websockets=={lowest}"],
        check=True, timeout=240,
    )  # fmt: skip
    env = {**daemon.env, "PYTHONPATH": f"{target}:{ROOT}"}  # its websockets comes first
    write_module(daemon.modules_dir, "followed", FOLLOWED)
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants", "run", "followed", "--follow"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[-2:] for line in done.stdout.splitlines() if " INFO " in line] == [
        ["line", "0"],
        ["line", "1"],
        ["line", "2"],
    ]
    assert "completed" in done.stdout + done.stderr
    lease_like = subprocess.run(
        [sys.executable, "-c", LEASE_LIKE, daemon.ws_url("/events")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert lease_like.returncode == 0, lease_like.stderr
    assert lease_like.stdout.split() == [lowest, "hello"]


def load_script(name: str) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(
        name.replace("-", "_"), str(ROOT / "scripts" / name)
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_installs_use_the_constraints() -> None:
    """Every pip install of the project in scripts/ goes through constraints.txt."""
    for name in ("setup-test-env", "check"):
        text = (ROOT / "scripts" / name).read_text()
        installs = [line for line in text.splitlines() if re.search(r"pip install .*-e \"\.", line)]
        assert installs and all("-c constraints.txt" in line for line in installs), name
    run = (ROOT / "scripts" / "run").read_text()  # its pip command gains -c before any install
    assert run.index("pip+=(-c constraints.txt)") < run.index('"${pip[@]}" .')


def test_refresh_constraints_check_agrees_with_this_environment() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "refresh-constraints"), "--check"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "constraints.txt is current" in done.stdout


def test_build_app_refuses_versions_other_than_the_pins(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    build_app = load_script("build-app")
    assert build_app.off_pins(CONSTRAINTS) == []  # this environment is the pinned one
    wrong = tmp_path / "constraints.txt"
    wrong.write_text("# a comment\npytest==0.0.1\nno-such-distribution==1.0\n")
    assert build_app.off_pins(wrong) == [f"pytest {metadata.version('pytest')} (pinned: 0.0.1)"]
    monkeypatch.setattr(build_app, "CONSTRAINTS", wrong)
    monkeypatch.setattr(sys, "argv", ["build-app", "--dist", str(tmp_path / "dist")])
    assert build_app.main() == 2  # before any build starts
    said = capsys.readouterr().err
    assert "pytest" in said and "-c" in said and "--unpinned" in said
    assert not (tmp_path / "dist").exists()
