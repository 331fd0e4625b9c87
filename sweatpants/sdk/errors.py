"""Errors a module can meet using the SDK's helpers (all `SweatpantsError`s)."""

from __future__ import annotations

from sweatpants.errors import Unavailable


class BrowserCrashed(Unavailable):
    """The pooled browser behind a job's context died while the job was using it."""

    code = "browser_crashed"
