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

    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


_restore()
del _restore
