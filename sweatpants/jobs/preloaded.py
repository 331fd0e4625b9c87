"""`python -m sweatpants.jobs.preloaded`: the packages a job process starts with.

Prints one line per third-party package that a job forked from the fork server has already
imported before its module loads (import name, distribution, version), with this Python and
these installed packages. A module cannot get another version of these from its
requirements.txt (see `sweatpants.jobs.shadowing`); the job's log warns when one tries.
"""

from __future__ import annotations

import contextlib

from sweatpants.jobs import forkserver, shadowing
from sweatpants.jobs import runner as runner  # what the fork server has imported


def main() -> None:
    """Import what the fork server imports (the runner, then `forkserver.PRELOAD`), then list
    the third-party packages that are loaded."""
    for name in forkserver.PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)
    for name, dist in shadowing.preloaded().items():
        print(f"{name}\t{dist}")


if __name__ == "__main__":
    main()
