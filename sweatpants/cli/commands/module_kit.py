"""`sweatpants module new | check | run`: write, check and try a module folder, no daemon
needed (the module kit). `module install` then puts it into the daemon."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sweatpants.cli.commands.jobs import add_value_arguments
from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_ERROR, EXIT_OK, EXIT_STOPPED, CliError

TEMPLATES = ("basic", "browser", "proxy")  # sweatpants.modules.scaffold.TEMPLATES


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `new`, `check` and `run` to the `module` command's actions."""
    new = actions.add_parser(
        "new",
        help="write a new module folder from a template",
        description=(
            "Write a working module into ./NAME (or --dir): module.json, main.py with a "
            "checkpoint and progress, README.md and test_module.py."
        ),
    )
    new.add_argument("name", metavar="NAME", help="the module's id, e.g. price-watch")
    new.add_argument(
        "--template",
        choices=TEMPLATES,
        default="basic",
        help="basic (counts, resumable), browser (get_browser) or proxy (proxied_request)",
    )
    new.add_argument("--dir", metavar="DIR", help="where to write it (default: ./NAME)")
    new.set_defaults(handler=new_command)

    check = actions.add_parser(
        "check",
        help="validate a module folder (module.json and its entrypoint)",
        description=(
            "Check module.json against the JSON Schema and the manifest rules, then import "
            "the entrypoint and find its Module subclass. Each problem names the file, the "
            "line and the field. Exit code 1 if there is any."
        ),
    )
    check.add_argument("path", metavar="PATH", help="a module folder (or its module.json)")
    check.add_argument("--json", action="store_true", help="print JSON for scripts")
    check.set_defaults(handler=check_command)

    run = actions.add_parser(
        "run",
        help="run a module folder once in the foreground (no daemon, no install)",
        description=(
            "Run a module folder once, here, through the same job runner the daemon uses. "
            "Log lines go to stderr, results to stdout as NDJSON (or --output FILE). Each "
            "checkpoint is kept in a file, so a run that is interrupted (Ctrl+C) or fails is "
            "resumed by the next one; a run that completes removes it. Ctrl+C asks the module "
            "to stop; a second Ctrl+C kills it."
        ),
        epilog=(
            "examples:\n"
            "  sweatpants module run . -i count=3\n"
            "  sweatpants module run ./scraper -i url=https://example.org -s delay=2 "
            "--output results.ndjson"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("path", metavar="PATH", help="a module folder")
    add_value_arguments(run)
    run.add_argument("--output", "-o", metavar="FILE", help="write results to FILE, not stdout")
    run.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where the checkpoint is kept (default: PATH/.sweatpants-checkpoint.json)",
    )
    run.add_argument(
        "--fresh", action="store_true", help="ignore a checkpoint left by an earlier run"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    run.set_defaults(handler=run_command)


def new_command(ctx: Context) -> int:
    from sweatpants.modules.scaffold import new_module

    folder = Path(ctx.args.dir or ctx.args.name).expanduser()
    written = new_module(folder, ctx.args.name, ctx.args.template)
    ctx.out.line(f"Wrote {ctx.args.template} module {ctx.args.name} in {folder}:")
    for path in written:
        ctx.out.line(f"  {path.name}")
    ctx.out.note(f"Next: sweatpants module check {folder} && sweatpants module run {folder}", "dim")
    return EXIT_OK


def check_command(ctx: Context) -> int:
    from sweatpants.modules.check import check_module

    report = check_module(ctx.args.path)
    manifest = report.manifest
    if ctx.json:
        ctx.out.json(
            {
                "ok": report.ok,
                "path": str(report.folder),
                "id": manifest.id if manifest else None,
                "module_class": report.class_name,
                "problems": [problem.to_dict() for problem in report.problems],
                "notes": report.notes,
            }
        )
        return EXIT_OK if report.ok else EXIT_ERROR
    for problem in report.problems:
        ctx.out.error(str(problem))
    for note in report.notes:
        ctx.out.note(f"note: {note}", "dim")
    if not report.ok:
        count = len(report.problems)
        ctx.out.note(f"{count} problem{'s' if count != 1 else ''} in {report.folder}", "red")
        return EXIT_ERROR
    assert manifest is not None
    ctx.out.line(
        f"OK: {manifest.id} {manifest.version} ({report.class_name} in {manifest.entrypoint}; "
        f"{len(manifest.inputs)} inputs, {len(manifest.settings)} settings)"
    )
    return EXIT_OK


def run_command(ctx: Context) -> int:
    from sweatpants.jobs.foreground import CHECKPOINT_FILE, ForegroundJob
    from sweatpants.modules.manifest import Manifest

    folder = Path(ctx.args.path).expanduser()
    manifest = Manifest.load(folder)
    inputs = manifest.coerce_inputs(_pairs(ctx.args.inputs))
    settings = manifest.coerce_settings(_pairs(ctx.args.settings))
    job = ForegroundJob(
        module_id=manifest.id,
        module_dir=folder,
        entrypoint=manifest.entrypoint,
        inputs=inputs,
        settings=settings,
        checkpoint_file=Path(ctx.args.checkpoint).expanduser()
        if ctx.args.checkpoint
        else folder / CHECKPOINT_FILE,
        output_file=Path(ctx.args.output).expanduser() if ctx.args.output else None,
        fresh=ctx.args.fresh,
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    outcome = job.run(sys.stdout, log, show_progress=not ctx.args.quiet)
    if outcome.traceback:
        log(outcome.traceback.rstrip())
    summary = f"{manifest.id}: {outcome.status}, {outcome.results} results"
    if outcome.status == "completed":
        log(summary)
        return EXIT_OK
    if outcome.status == "stopped":
        log(f"{summary}; the next run resumes from the last checkpoint (--fresh starts over)")
        return EXIT_STOPPED
    raise CliError(
        f"{summary}: {outcome.error}",
        extra=["The next run resumes from the last checkpoint (--fresh starts over)."],
    )


def _pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in pairs:
        values[key] = value
    return values
