"""`run`, `stop` and `jobs`: start jobs, stop them, list them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sweatpants.cli.commands import retention
from sweatpants.cli.commands.logs import end_summary, job_path, log_printer, positive_int
from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_ERROR, EXIT_OK, EXIT_STOPPED, CliError
from sweatpants.cli.follow import follow_logs, follow_with_progress
from sweatpants.cli.formatting import (
    job_runtime,
    local_time,
    progress_text,
    short_id,
)
from sweatpants.cli.output import STATUS_STYLES
from sweatpants.cli.progress import progress_wanted

STATUSES = ("pending", "running", "completed", "failed", "stopped")
SORTS = ("created", "duration", "results")
END_CODES = {"completed": EXIT_OK, "failed": EXIT_ERROR, "stopped": EXIT_STOPPED}
MAX_PAGES = 10_000  # `jobs --all`: a bound on pages, far above any real job count
STOP_WAIT_POLL = 0.2


def add_value_arguments(parser: argparse.ArgumentParser) -> None:
    """`-i KEY=VALUE` and `-s KEY=VALUE`, repeatable, as `run`, `schedule add` and `module run`
    take a job's inputs and settings (into `inputs` and `settings`)."""
    parser.add_argument(
        "--input",
        "-i",
        dest="inputs",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="an input (repeatable); KEY=@FILE reads the value from FILE",
    )
    parser.add_argument(
        "--setting",
        "-s",
        dest="settings",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a module setting (repeatable); KEY=@FILE reads FILE",
    )


def key_value(text: str) -> tuple[str, str]:
    """`key=value`; `key=@file` reads the value from a file, `key=@@x` means the text `@x`."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    if value.startswith("@@"):
        value = value[1:]
    elif value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise argparse.ArgumentTypeError(f"{key}: cannot read {path}: {reason}") from None
    return key, value


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    run = sub.add_parser(
        "run",
        parents=[common],
        help="start a job of a module (--follow to watch it to the end)",
        description=(
            "Start a job. Values are sent as text; the daemon converts them to the types the "
            "module declares. With --follow, stream the job's logs until it ends and exit with "
            "0 if it completed, 1 if it failed, 3 if it was stopped."
        ),
        epilog=(
            "examples:\n"
            "  sweatpants run hello -i name=World\n"
            "  sweatpants run scraper -i urls=@urls.json -s delay=2 -d 2h --follow\n"
            "  JOB=$(sweatpants run hello -q)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("module_id", metavar="MODULE_ID", help="the module to run")
    add_value_arguments(run)
    run.add_argument(
        "--duration",
        "-d",
        "--max-duration",
        dest="duration",
        metavar="DURATION",
        help="stop the job after this long: 30m, 2h, 7d, 1h30m",
    )
    run.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="stream the job's logs until it ends; the exit code tells how it ended",
    )
    run.add_argument(
        "--retries", type=int, metavar="N", help="try the job again up to N times if it fails (0)"
    )
    run.add_argument(
        "--retry-delay", metavar="DURATION", help="wait before the first retry (30s), doubled"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="print only the job id")
    run.set_defaults(handler=run_command)

    stop = sub.add_parser(
        "stop",
        parents=[common],
        help="stop a job",
        description="Ask a job to stop (cooperatively first, then by force after a grace time).",
    )
    stop.add_argument("job_id", metavar="JOB_ID", help="job id or a unique prefix (8+ chars)")
    stop.add_argument("--wait", "-w", action="store_true", help="wait until the job has ended")
    stop.add_argument(
        "--timeout", type=float, default=60.0, help="with --wait: give up after this many s (60)"
    )
    stop.set_defaults(handler=stop_command)

    jobs = sub.add_parser(
        "jobs",
        parents=[common],
        help="list jobs, newest first; --search and --since find older ones",
        description=(
            "List jobs, newest first. --search finds text in a job's id (a prefix), module, "
            "error or input values (never in secret values); --since and --until take a date "
            "(2026-03-01), an ISO time or a time back from now (2d, 12h)."
        ),
        epilog=(
            "examples:\n"
            "  sweatpants jobs --search timeout --since 2d\n"
            "  sweatpants jobs --status failed --since 2026-03-01 --until 2026-03-08\n"
            "  sweatpants jobs --sort duration -n 10"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    jobs.add_argument("--status", choices=STATUSES, help="only jobs in this state")
    jobs.add_argument("--module", "-m", help="only jobs of this module")
    jobs.add_argument(
        "--search",
        "-s",
        metavar="TEXT",
        help="only jobs whose id, module, error or inputs hold TEXT",
    )
    jobs.add_argument(
        "--since", metavar="WHEN", help="only jobs created since: 2d, 12h, 2026-03-01"
    )
    jobs.add_argument("--until", metavar="WHEN", help="only jobs created before: 1d, 2026-03-08")
    jobs.add_argument(
        "--sort", choices=SORTS, default="created", help="order by this, largest first (created)"
    )
    jobs.add_argument("--asc", action="store_true", help="smallest (oldest) first")
    jobs.add_argument("--limit", "-n", type=positive_int, default=100, help="at most N jobs (100)")
    jobs.add_argument("--all", "-a", action="store_true", help="every job (ignores --limit)")
    jobs.set_defaults(handler=jobs_command)
    retention.register(jobs, common)  # jobs rm, jobs prune


def run_command(ctx: Context) -> int:
    args = ctx.args
    body: dict[str, Any] = {
        "module_id": args.module_id,
        "inputs": dict(args.inputs),
        "settings": dict(args.settings),
    }
    if args.duration:
        body["max_duration"] = args.duration
    if args.retries is not None:
        body["retries"] = args.retries
    if args.retry_delay:
        body["retry_delay"] = args.retry_delay
    client = ctx.client()
    created = client.post("/jobs", body)
    job_id = str(created["id"])
    out = ctx.out
    if ctx.json:
        (out.json_line if args.follow else out.json)(created)
    elif args.quiet:
        out.line(job_id)
    elif args.follow:
        out.note(
            f"Started job {job_id} ({args.module_id}); Ctrl-C detaches, the job keeps running."
        )
    else:
        out.line(f"Started job {out.style(job_id, 'bold')} ({args.module_id})")
        if args.duration:
            out.line(f"  stops after: {args.duration}")
        out.line(f"  logs:    sweatpants logs -f {short_id(job_id)}")
        out.line(f"  results: sweatpants result {short_id(job_id)}")
        out.line(f"  stop:    sweatpants stop {short_id(job_id)}")
    if not args.follow:
        return EXIT_OK
    show = log_printer(out, ctx.json)
    try:
        if progress_wanted(out.stdout, as_json=ctx.json, quiet=args.quiet):
            end = follow_with_progress(ctx.target(), job_id, show, out.stdout)
        else:
            end = follow_logs(ctx.target(), job_id, show if not args.quiet else _ignore)
    except KeyboardInterrupt:
        out.note(
            f"\nDetached; job {short_id(job_id)} keeps running "
            f"(sweatpants logs -f {short_id(job_id)} / sweatpants stop {short_id(job_id)})."
        )
        raise
    status = str(end.get("status", ""))
    if ctx.json:
        out.json_line({"type": "end", "id": job_id, **end})
    elif not args.quiet:
        job = client.get(job_path(job_id))
        summary = end_summary(job_id, end)
        extras = [f"{job.get('result_count', 0)} results"]
        if job_runtime(job):
            extras.insert(0, f"ran {job_runtime(job)}")
        out.note(f"{summary} ({', '.join(extras)})", STATUS_STYLES.get(status))
    return END_CODES.get(status, EXIT_ERROR)


def _ignore(entry: dict[str, Any]) -> None:
    return None


def stop_command(ctx: Context) -> int:
    client = ctx.client()
    answer = client.post(f"{job_path(ctx.args.job_id)}/stop")
    job_id = str(answer.get("id", ctx.args.job_id))
    if ctx.args.wait:
        answer = _wait_ended(ctx, job_id, ctx.args.timeout)
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_OK
    status = str(answer.get("status", "stopping"))
    ctx.out.line(f"Job {short_id(job_id)} {ctx.out.style(status, STATUS_STYLES.get(status))}")
    return EXIT_OK


def _wait_ended(ctx: Context, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        job: dict[str, Any] = ctx.client().get(job_path(job_id))
        if job.get("status") in END_CODES:
            return job
        if time.monotonic() >= deadline:
            raise CliError(
                f"job {short_id(job_id)} is still {job.get('status')} after {timeout:g} s"
            )
        time.sleep(STOP_WAIT_POLL)


def list_jobs(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    params: dict[str, Any] = {
        "status": args.status,
        "module_id": args.module,
        "q": args.search,
        "since": args.since,
        "until": args.until,
        "sort": args.sort,
        "order": "asc" if args.asc else "desc",
    }
    wanted = None if args.all else args.limit
    jobs: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page_size = 100 if wanted is None else min(100, wanted - len(jobs))
        page = ctx.client().get("/jobs", {**params, "limit": page_size, "before": cursor})
        jobs.extend(page.get("jobs", []))
        cursor = page.get("next_cursor")
        if not cursor or (wanted is not None and len(jobs) >= wanted):
            break
    return {"jobs": jobs, "next_cursor": cursor}


def jobs_command(ctx: Context) -> int:
    listing = list_jobs(ctx)
    if ctx.json:
        ctx.out.json(listing)
        return EXIT_OK
    jobs = listing["jobs"]
    if not jobs:
        what = f"{ctx.args.status} jobs" if ctx.args.status else "jobs"
        narrowed = ctx.args.search or ctx.args.since or ctx.args.until
        ctx.out.line(f"No {what}{' match' if narrowed else ''}.")
        return EXIT_OK
    rows, styles = [], []
    for job in jobs:
        status = str(job.get("status", ""))
        rows.append(
            [
                short_id(str(job.get("id", ""))),
                str(job.get("module_id", "")),
                status,
                local_time(job.get("created_at"), seconds=False),
                job_runtime(job),
                str(job.get("result_count", "")),
                progress_text(job.get("progress")),
            ]
        )
        styles.append([None, None, STATUS_STYLES.get(status), None, None, None, None])
    ctx.out.table(
        ["ID", "MODULE", "STATUS", "CREATED", "RUNTIME", "RESULTS", "PROGRESS"], rows, styles
    )
    if listing.get("next_cursor"):
        shown = "newest" if (ctx.args.sort, ctx.args.asc) == ("created", False) else "first"
        ctx.out.note(f"Showing the {shown} {len(jobs)}; --all lists every job.", "dim")
    return EXIT_OK
