"""What the CLI reports when something it expects goes wrong, and the exit codes it uses.

Every expected failure is a `SweatpantsError`; `main` prints it as one `error: ...` line (plus
the ids of an ambiguous prefix) and exits with its `exit_code`. Nothing expected ever shows a
traceback.
"""

from __future__ import annotations

from sweatpants.errors import SweatpantsError, Unavailable

EXIT_OK = 0  # the command did what was asked (for `run --follow`: the job completed)
EXIT_ERROR = 1  # the daemon refused the request, or the followed job failed
EXIT_USAGE = 2  # the command line itself is wrong (argparse's convention)
EXIT_STOPPED = 3  # `run --follow`: the job was stopped (on request or by its max duration)
EXIT_UNREACHABLE = 4  # no Sweatpants daemon answers at the URL
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), the shell's convention


class CliError(SweatpantsError):
    """A failure the CLI reports as one line; `extra` lines follow it (ids, hints)."""

    code = "cli_error"
    exit_code = EXIT_ERROR

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        extra: list[str] | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(detail, field=field)
        self.extra = list(extra or [])
        if exit_code is not None:
            self.exit_code = exit_code


class DaemonUnreachable(Unavailable):
    """Nothing accepts connections at the daemon's URL."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the Sweatpants daemon is not reachable at {url} — "
            "start it with 'sweatpants serve' (or 'sweatpants app')"
        )
        self.url = url


class ApiError(CliError):
    """The daemon answered with an error status; `detail`, `field`, `matches` come from it."""

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        code: str = "error",
        field: str | None = None,
        matches: list[str] | None = None,
        extra: list[str] | None = None,
    ) -> None:
        super().__init__(detail, field=field, extra=extra)
        self.status = status
        self.code = code
        self.matches = list(matches or [])
