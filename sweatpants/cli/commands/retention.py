"""`jobs rm` and `jobs prune`: delete finished jobs with their logs and results."""

from __future__ import annotations

import argparse
from typing import Any

from sweatpants.cli.commands.logs import job_path
from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_ERROR, EXIT_OK
from sweatpants.cli.formatting import short_id
from sweatpants.errors import SweatpantsError

FINAL = ("completed", "failed", "stopped")
PRUNE_TIMEOUT = 300.0  # a prune waits up to 30 s for the rows; generous for slow disks


def register(jobs: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """`jobs rm` and `jobs prune` under the `jobs` command (plain `jobs` still lists)."""
    actions = jobs.add_subparsers(dest="jobs_action", metavar="ACTION")
    rm = actions.add_parser(
        "rm",
        parents=[common],
        help="delete finished jobs with their logs, results and checkpoint",
        description=(
            "Delete finished jobs with their logs, results and checkpoint. A pending or "
            "running job is refused: stop it first (sweatpants stop ID)."
        ),
    )
    rm.add_argument("job_ids", nargs="+", metavar="JOB_ID", help="job id or unique prefix")
    rm.set_defaults(handler=rm_command)
    prune = actions.add_parser(
        "prune",
        parents=[common],
        help="delete finished jobs that ended longer ago than --older-than",
        description=(
            "Delete the finished jobs that ended longer ago than --older-than (0s: every "
            "finished job that matches), with their logs and results. The job a schedule "
            "last ran is kept."
        ),
        epilog="examples:\n  sweatpants jobs prune --older-than 30d\n"
        "  sweatpants jobs prune --older-than 0s --status failed --module scraper",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prune.add_argument(
        "--older-than", required=True, metavar="DURATION", help="like 30d, 12h; 0s: all"
    )
    prune.add_argument(
        "--status",
        action="append",
        choices=FINAL,
        help="only jobs in this state (repeatable; default: every finished state)",
    )
    prune.add_argument("--module", "-m", help="only jobs of this module")
    prune.add_argument(
        "--keep-last", type=int, default=0, metavar="N", help="keep the newest N that match"
    )
    prune.set_defaults(handler=prune_command)


def rm_command(ctx: Context) -> int:
    client = ctx.client()
    answers: list[dict[str, Any]] = []
    failed = 0
    for job_id in ctx.args.job_ids:
        try:
            answer = client.delete(job_path(job_id))
        except SweatpantsError as exc:
            failed += 1
            ctx.out.error(f"{job_id}: {exc.detail}")
            continue
        answers.append(answer)
        if not ctx.json:
            ctx.out.line(
                f"Deleted job {short_id(str(answer['id']))} "
                f"({answer['results']} results, {answer['logs']} log lines)"
            )
    if ctx.json:
        ctx.out.json({"deleted": answers})
    return EXIT_ERROR if failed else EXIT_OK


def prune_command(ctx: Context) -> int:
    args = ctx.args
    body: dict[str, Any] = {"older_than": args.older_than, "keep_last": args.keep_last}
    if args.status:
        body["status"] = args.status
    if args.module:
        body["module_id"] = args.module
    answer = ctx.client().post("/jobs/prune", body, timeout=PRUNE_TIMEOUT)
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_OK
    if not answer["removed"]:
        ctx.out.line("No finished jobs match; nothing deleted.")
        return EXIT_OK
    jobs = "1 job" if answer["removed"] == 1 else f"{answer['removed']} jobs"
    ctx.out.line(f"Deleted {jobs} ({answer['results']} results, {answer['logs']} log lines)")
    if not answer.get("purged", True):
        ctx.out.note("Their rows are still being removed in the background.", "dim")
    return EXIT_OK
