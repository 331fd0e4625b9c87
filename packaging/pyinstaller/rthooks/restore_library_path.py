"""PyInstaller runtime hook: programs we start get the user's LD_LIBRARY_PATH, not the bundle's.

The bootloader points LD_LIBRARY_PATH at the bundle so the app finds its own libraries, and
keeps the user's value in LD_LIBRARY_PATH_ORIG. Every process of the app (the daemon, the
fork server, job processes) has loaded its libraries by the time this runs; a copy of the
app started by multiprocessing sets the variable again itself. Without this, git, Chromium or
pip started by the daemon or by a job would load the bundle's libssl, libz, ... and may fail.
Runs in every frozen process, before the entry script and before `freeze_support()` diverts
to a multiprocessing helper.
"""


def _restore() -> None:
    import os
    import sys

    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    value = original if original is not None else os.environ.get("LD_LIBRARY_PATH", "")
    # A copy of the app started by the app itself inherits the already restored value and
    # gets no _ORIG: keep the user's entries, drop only those inside this bundle.
    bundle = os.path.realpath(getattr(sys, "_MEIPASS", "") or os.path.dirname(sys.executable))
    kept = [
        entry
        for entry in value.split(os.pathsep)
        if entry
        and os.path.realpath(entry) != bundle
        and not os.path.realpath(entry).startswith(bundle + os.sep)
    ]
    if kept:
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(kept)
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


_restore()
del _restore
