"""scripts/check: the unit tier that `--fast` runs is defined by the markers pyproject declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check"


def declared_markers() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers: list[str] = config["tool"]["pytest"]["ini_options"]["markers"]
    return {line.split(":", 1)[0].strip() for line in markers}


def unit_tier() -> str:
    found = re.search(r'^UNIT_TIER="([^"]+)"$', CHECK.read_text(), re.MULTILINE)
    assert found, f"{CHECK} defines no UNIT_TIER"
    return found.group(1)


def test_the_unit_tier_leaves_out_every_marked_test() -> None:
    """Each marker says a test needs something from outside (a daemon, a program, root,
    time); a new marker must leave the unit tier too, or be added here on purpose."""
    tier = re.fullmatch(r"not \((.+)\)", unit_tier())
    assert tier, f"UNIT_TIER should read 'not (MARKER or MARKER ...)', not {unit_tier()!r}"
    excluded = {name.strip() for name in tier.group(1).split(" or ")}
    assert excluded == declared_markers()


def test_fast_installs_no_debian_package_and_is_documented() -> None:
    script = CHECK.read_text()
    fast_branch = script.split("if $fast; then", 1)[1].split("else", 1)[0]
    assert "setup-test-env" not in fast_branch and "apt-get" not in fast_branch
    assert 'pytest -m "$UNIT_TIER"' in script
    for doc in ("README.md", "docs/architecture.md"):
        assert "scripts/check --fast" in (ROOT / doc).read_text(), doc
