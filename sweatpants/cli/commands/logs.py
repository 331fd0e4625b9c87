"""`sweatpants logs JOB_ID [--follow] [--limit N]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sweatpants.cli.client import DaemonClient
from sweatpants.cli.context import Context
from sweatpants.cli.follow import follow_logs, follow_with_progress
from sweatpants.cli.formatting import local_time, short_id
from sweatpants.cli.output import LEVEL_STYLES, Output
from sweatpants.cli.progress import progress_wanted

MAX_PAGES = 10_000  # pages of one `logs` answer (each holds up to the daemon's cap)


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not at least 1")
    return number


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    logs = sub.add_parser(
        "logs",
        parents=[common],
        help="show a job's logs; --follow streams them until the job ends",
        description=(
            "Show the newest log entries of a job. With --follow, keep streaming new entries "
            "until the job ends. --json prints the API answer (with --follow: one JSON object "
            "per line)."
        ),
    )
    logs.add_argument("job_id", metavar="JOB_ID", help="job id or a unique prefix (8+ chars)")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="stream new entries until the job ends"
    )
    logs.add_argument(
        "--limit", "-n", type=positive_int, default=100, help="entries to show first (100)"
    )
    logs.add_argument("--level", help="only entries of this level (INFO, WARNING, ...)")
    logs.set_defaults(handler=logs_command)


def job_path(job_id: str) -> str:
    return f"/jobs/{quote(job_id, safe='')}"


def fetch_logs(client: DaemonClient, job_id: str, limit: int, level: str | None) -> dict[str, Any]:
    """The newest `limit` entries in time order, as one API-shaped answer. The daemon answers
    a `limit` above its page cap with the first page of those entries; the rest follow by
    `after` (with whatever was logged since, up to `limit` in all)."""
    path = f"{job_path(job_id)}/logs"
    answer = client.get(path, {"limit": limit, "level": level})
    entries: list[dict[str, Any]] = list(answer.get("logs", []))
    page = entries
    for _ in range(MAX_PAGES):
        if not page or len(entries) >= limit:
            break
        wanted = {"limit": limit - len(entries), "level": level, "after": entries[-1]["id"]}
        answer = client.get(path, wanted)
        page = answer.get("logs", [])
        entries.extend(page)
    entries = entries[:limit]
    cursor = entries[-1]["id"] if entries else answer.get("next_cursor")
    return {**answer, "logs": entries, "next_cursor": cursor}


def log_printer(out: Output, as_json: bool) -> Callable[[dict[str, Any]], None]:
    """One log entry → one line: `2024-01-15 10:30:05 INFO     message`."""

    def show(entry: dict[str, Any]) -> None:
        if as_json:
            out.json_line({k: v for k, v in entry.items() if k != "type"})
            return
        level = str(entry.get("level", "INFO")).upper()
        stamp = out.style(local_time(entry.get("timestamp")), "dim")
        shown_level = out.style(level.ljust(8), LEVEL_STYLES.get(level))
        out.line(f"{stamp} {shown_level} {entry.get('message', '')}")

    return show


def logs_command(ctx: Context) -> int:
    client = ctx.client()
    job = client.get(job_path(ctx.args.job_id))  # resolves a prefix, 404/409 said plainly
    job_id = str(job["id"])
    page = fetch_logs(client, job_id, ctx.args.limit, ctx.args.level)
    entries = page["logs"]
    if ctx.json and not ctx.args.follow:
        ctx.out.json(page)
        return 0
    show = log_printer(ctx.out, ctx.json)
    for entry in entries:
        show(entry)
    if not ctx.args.follow:
        if not entries and not ctx.json:
            ctx.out.note(f"No log entries for job {short_id(job_id)}.", "dim")
        return 0
    last = entries[-1].get("id") if entries else None
    level = (ctx.args.level or "").upper()

    def show_matching(entry: dict[str, Any]) -> None:
        if not level or str(entry.get("level", "")).upper() == level:
            show(entry)

    if progress_wanted(ctx.out.stdout, as_json=ctx.json, quiet=False):
        end = follow_with_progress(
            ctx.target(),
            job_id,
            show_matching,
            ctx.out.stdout,
            initial=job.get("progress"),
            after=last,
        )
    else:
        end = follow_logs(ctx.target(), job_id, show_matching, after=last)
    if not ctx.json:
        ctx.out.note(end_summary(job_id, end), "dim")
    return 0


def end_summary(job_id: str, end: dict[str, Any]) -> str:
    text = f"Job {short_id(job_id)} {end.get('status', 'ended')}"
    if end.get("error"):
        text += f": {end['error']}"
    return text
