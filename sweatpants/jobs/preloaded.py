"""`python -m sweatpants.jobs.preloaded`: the packages a job process starts with.

Prints one line per third-party package that a job forked from a fork server has already
imported before its module loads (import name, distribution, version), with the Python that
runs this and the packages it sees: run it with a module environment's interpreter to see
what that module's jobs start with (its own versions). In the standalone app, where a
module's requirements go to a folder instead, a module cannot get another version of these
(see `sweatpants.jobs.shadowing`); the job's log warns when one tries.
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
