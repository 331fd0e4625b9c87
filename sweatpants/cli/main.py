"""`sweatpants`: parse the command line, run one command, turn failures into one line.

Exit codes (also in docs/cli.md): 0 success (for `run --follow`: the job completed),
1 error or failed job, 2 wrong command line, 3 job stopped, 4 daemon not reachable,
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from sweatpants.cli.commands import (
    daemon,
    jobs,
    logs,
    mcp_server,
    modules,
    results,
    schedules,
    tokens,
    webhooks,
)
from sweatpants.cli.context import Context
from sweatpants.cli.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ApiError,
    CliError,
)
from sweatpants.cli.output import Output
from sweatpants.errors import SweatpantsError
from sweatpants.version import __version__

URL_HELP = "the daemon's URL (default: SWEATPANTS_URL, else the configured host and port)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweatpants",
        description="Sweatpants: run Python modules as long-lived, resumable jobs.",
        epilog=(
            "Start the daemon with 'sweatpants serve' (or the tray app: 'sweatpants app'), "
            "then e.g. 'sweatpants run MODULE --follow'. 'sweatpants COMMAND --help' for more."
        ),
    )
    parser.add_argument("--version", "-V", action="version", version=f"sweatpants {__version__}")
    parser.add_argument("--url", help=URL_HELP)

    # Options every client command takes, also after the command name (`status --json`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help=URL_HELP)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    daemon.register(sub, common)
    jobs.register(sub, common)
    logs.register(sub, common)
    results.register(sub, common)
    modules.register(sub, common)
    webhooks.register(sub, common)
    schedules.register(sub, common)
    tokens.register(sub, common)
    mcp_server.register(sub, common)
    return parser


def split_app_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """`[--url X] app ARGS...` → (`[--url X] app`, ARGS): the launcher parses its own."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--url":
            index += 2
            continue
        if word.startswith("-"):
            index += 1
            continue
        if word == "app":
            return argv[: index + 1], argv[index + 1 :]
        break
    return argv, []


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, app_args = split_app_arguments(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(own)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if app_args:
        args.app_args = app_args
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out = Output()
    ctx = Context(args=args, out=out)
    try:
        return int(args.handler(ctx))
    except SweatpantsError as exc:
        report(out, exc)
        return int(getattr(exc, "exit_code", EXIT_ERROR))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`sweatpants logs ID | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    finally:
        ctx.close()


def report(out: Output, exc: SweatpantsError) -> None:
    """One `error:` line with the daemon's detail (and field), then any ids or hints."""
    text = exc.detail
    if exc.field and exc.field not in text:
        text += f" (field: {exc.field})"
    out.error(text)
    if isinstance(exc, ApiError) and exc.matches:
        if all(match in exc.detail for match in exc.matches):
            out.note("Use a longer prefix.")
        else:
            out.note(f"{len(exc.matches)} jobs match; use a longer prefix:")
            for match in exc.matches:
                out.note(f"  {match}")
    if isinstance(exc, CliError):
        for line in exc.extra:
            out.note(line)
