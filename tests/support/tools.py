"""How a test asks for a system program: `require_tool(command, debian_package)`.

Every Debian tool the tests run is declared by a call to `require_tool` with two literal
strings, the command and the Debian package that provides it. `tests/test_setup_script.py`
reads those calls and checks that `scripts/setup-test-env` installs each package, so a
fresh machine that ran the set-up script has everything the tests need.
"""

from __future__ import annotations

import shutil

SETUP_SCRIPT = "scripts/setup-test-env"


def require_tool(command: str, debian_package: str) -> str:
    """The path of `command`; fails naming the package when it is not installed."""
    found = shutil.which(command)
    if found is None:
        raise AssertionError(
            f"{command} is needed and not installed: run {SETUP_SCRIPT} "
            f"(or apt-get install -y {debian_package})"
        )
    return found
