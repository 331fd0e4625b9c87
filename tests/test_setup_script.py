"""scripts/setup-test-env installs every Debian tool the tests run, so a fresh machine passes.

Tests declare each system tool once, with `require_tool(command, debian_package)`
(tests/support/tools.py). These tests read those calls from the test sources and check that
each package is in the script's `DEBIAN_PACKAGES`; that tests run no program they did not
declare; and, on this machine, that each declared package really provides its command.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SETUP_SCRIPT = ROOT / "scripts" / "setup-test-env"
HELPER = TESTS / "support" / "tools.py"
# Functions whose first argument is a program (and its arguments) to run.
RUNNERS = {"run", "Popen", "check_output", "check_call", "call", "ns_run"}
COMMAND_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class Declared:
    command: str
    package: str
    where: str


def sources() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def declared_tools() -> list[Declared]:
    """Every `require_tool(command, package)` call in the tests, with where it is."""
    found = []
    for path in sources():
        for call in calls(path):
            if call_name(call) != "require_tool":
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            args = [
                arg.value
                for arg in call.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            if len(args) != 2 or len(call.args) != 2 or call.keywords:
                raise AssertionError(
                    f"{where}: call require_tool with two literal strings, the command and "
                    "its Debian package, so this test can read them"
                )
            found.append(Declared(command=args[0], package=args[1], where=where))
    return found


def setup_packages(script: Path) -> set[str]:
    """The script's DEBIAN_PACKAGES, as bash itself reads the array."""
    text = script.read_text()
    block = re.search(r"^DEBIAN_PACKAGES=\(.*?^\)", text, re.MULTILINE | re.DOTALL)
    assert block, f"{script} has no DEBIAN_PACKAGES=( ... ) array"
    done = subprocess.run(
        ["bash", "-c", block.group(0) + '\nprintf "%s\\n" "${DEBIAN_PACKAGES[@]}"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return set(done.stdout.split())


def not_installed_by(script: Path, declared: list[Declared]) -> list[str]:
    packages = setup_packages(script)
    return [
        f"{tool.where}: require_tool({tool.command!r}, {tool.package!r}): add {tool.package} "
        f"to DEBIAN_PACKAGES in {script.relative_to(ROOT) if script.is_relative_to(ROOT) else script}"
        for tool in declared
        if tool.package not in packages
    ]


def test_every_required_tool_is_installed_by_the_setup_script() -> None:
    declared = declared_tools()
    assert {"desktop-file-validate", "systemd-analyze", "Xvfb"} <= {t.command for t in declared}
    missing = not_installed_by(SETUP_SCRIPT, declared)
    assert not missing, "\n".join(missing)


def test_the_check_names_a_package_the_script_no_longer_installs(tmp_path: Path) -> None:
    script = tmp_path / "setup-test-env"
    text = SETUP_SCRIPT.read_text()
    script.write_text(re.sub(r"(?<=\s)desktop-file-utils(?=\s)", "", text, count=1))
    missing = not_installed_by(script, declared_tools())
    assert missing, "removing desktop-file-utils from the script went unnoticed"
    assert all("add desktop-file-utils to DEBIAN_PACKAGES" in line for line in missing), missing
    assert any(line.startswith("tests/test_packaging.py:") for line in missing), missing


def test_tests_find_system_tools_only_through_require_tool() -> None:
    offenders = []
    for path in sources():
        if path in {HELPER, Path(__file__).resolve()}:  # the helper, and this file's checks
            continue
        for call in calls(path):
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "which"
                and isinstance(func.value, ast.Name)
                and func.value.id == "shutil"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not offenders, (
        "use tests.support.tools.require_tool(command, debian_package) instead of "
        f"shutil.which, so the set-up script is checked to install it: {offenders}"
    )


def commands_run() -> dict[str, str]:
    """Programs the tests start by name: `run(["git", ...])`, `Popen(["Xvfb", ...])`,
    `xd.run("xwininfo", ...)`; each with the first place it is run."""
    found: dict[str, str] = {}
    for path in sources():
        for call in calls(path):
            if call_name(call) not in RUNNERS or not call.args:
                continue
            first = call.args[0]
            if isinstance(first, ast.List | ast.Tuple) and first.elts:
                first = first.elts[0]
            name = first.value if isinstance(first, ast.Constant) else None
            if isinstance(name, str) and COMMAND_NAME.fullmatch(name):
                found.setdefault(name, f"{path.relative_to(ROOT)}:{call.lineno}")
    return found


@pytest.mark.system
def test_tests_run_only_programs_they_declare() -> None:
    """A program a test runs is declared, installed by pip into the venv, or part of every
    Debian system (its package has priority "required": even `debootstrap --variant=minbase`
    installs it, e.g. sh, mount, dpkg-query)."""
    declared = {tool.command for tool in declared_tools()}
    venv_bin = Path(sys.executable).parent
    undeclared = [
        f"{where}: runs {command!r}"
        for command, where in sorted(commands_run().items())
        if command not in declared
        and not (venv_bin / command).exists()
        and not from_required_packages(command)
    ]
    assert not undeclared, (
        "declare each program with require_tool(command, debian_package) in the test or "
        "its support module: " + "; ".join(undeclared)
    )


def from_required_packages(command: str) -> bool:
    path = shutil.which(command)
    owners = package_owners(path) if path else set()
    return bool(owners) and all(dpkg_field(owner, "Priority") == "required" for owner in owners)


def dpkg_field(package: str, name: str) -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", f"-f=${{{name}}}", package],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip()


def package_owners(path: str) -> set[str]:
    """Debian packages owning `path` (also under its merged-/usr and symlink-resolved names)."""
    resolved = str(Path(path).resolve())
    names = {path, resolved} | {re.sub(r"^/usr(?=/s?bin/)", "", p) for p in (path, resolved)}
    done = subprocess.run(
        ["dpkg-query", "-S", *sorted(names)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    owners: set[str] = set()
    for line in done.stdout.splitlines():
        if line.startswith("diversion "):  # "diversion by dash from: /bin/sh"
            continue
        packages, _, _ = line.partition(": ")
        owners |= {p.strip().split(":")[0] for p in packages.split(",")}
    return owners


def direct_dependencies(package: str) -> set[str]:
    depends = dpkg_field(package, "Depends") + "," + dpkg_field(package, "Pre-Depends")
    return {
        re.split(r"[\s(:]", alternative.strip())[0]
        for alternative in re.split(r"[,|]", depends)
        if alternative.strip()
    }


def distinct(declared: list[Declared]) -> list[Declared]:
    """One per (command, package), in source order."""
    firsts: dict[tuple[str, str], Declared] = {}
    for tool in declared:
        firsts.setdefault((tool.command, tool.package), tool)
    return list(firsts.values())


@pytest.mark.system
@pytest.mark.parametrize("tool", distinct(declared_tools()), ids=lambda tool: tool.command)
def test_the_declared_package_provides_the_command(tool: Declared) -> None:
    """The package installs the command itself, or depends directly on the one that does."""
    assert shutil.which("dpkg-query"), "these tests target Debian: dpkg-query is missing"
    path = shutil.which(tool.command)
    assert path, f"{tool.command} is not installed: run scripts/setup-test-env ({tool.where})"
    owners = package_owners(path)
    assert owners, f"no Debian package owns {path} ({tool.where})"
    provides = {tool.package} | direct_dependencies(tool.package)
    assert owners & provides, (
        f"{tool.where}: {tool.command} ({path}) comes from {sorted(owners)}, "
        f"not from {tool.package}"
    )
