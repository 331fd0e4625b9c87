"""`schedule add|list|show|rm|pause|resume|run|preview`: run modules on a cron or every N."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

from sweatpants.cli.commands.jobs import add_value_arguments
from sweatpants.cli.commands.logs import positive_int
from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_OK
from sweatpants.cli.formatting import local_time, short_id
from sweatpants.cli.output import STATUS_STYLES

OVERLAPS = ("skip", "queue", "allow")
MISFIRES = ("coalesce", "skip")


def _path(schedule_id: str, action: str = "") -> str:
    return f"/schedules/{quote(schedule_id, safe='')}" + (f"/{action}" if action else "")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    schedule = sub.add_parser(
        "schedule",
        parents=[common],
        help="schedules: run a module on a cron expression or every so often",
        description="Add, list, show, pause, resume, run and remove schedules.",
    )
    actions = schedule.add_subparsers(dest="schedule_action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add a schedule",
        description=(
            "Add a schedule: MODULE runs at each slot of a 5-field cron expression (in --tz, "
            "default the machine's zone) or every DURATION. Inputs are checked now."
        ),
        epilog=(
            "examples:\n"
            '  sweatpants schedule add report --cron "0 6 * * *" --tz Europe/Berlin\n'
            "  sweatpants schedule add poller --every 15m -i url=https://example.org --retries 3"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("module_id", metavar="MODULE", help="the module to run")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help='a 5-field cron expression: "0 6 * * *"')
    when.add_argument("--every", metavar="DURATION", help="an interval: 30s, 15m, 6h")
    add.add_argument("--tz", dest="timezone", metavar="ZONE", help="IANA zone for --cron")
    add_value_arguments(add)
    add.add_argument("--name", help="a name to show instead of the module")
    add.add_argument(
        "--retries", type=int, metavar="N", help="try a failed run again up to N times (0)"
    )
    add.add_argument(
        "--retry-delay", metavar="DURATION", help="wait before the first retry (30s), doubled"
    )
    add.add_argument(
        "--duration", "-d", dest="duration", metavar="DURATION", help="stop each run after this"
    )
    add.add_argument("--overlap", choices=OVERLAPS, help="while the previous run goes on (skip)")
    add.add_argument("--misfire", choices=MISFIRES, help="for missed slots (coalesce)")
    add.add_argument("--grace", metavar="DURATION", help="how late a slot may still run (60s)")
    add.add_argument("--start-at", metavar="TIME", help="where --every counts from (ISO 8601)")
    add.add_argument("--paused", action="store_true", help="add it paused")
    add.set_defaults(handler=add_command)

    listing = actions.add_parser("list", parents=[common], help="list schedules")
    listing.set_defaults(handler=list_command)

    for name, text, handler in (
        ("show", "show a schedule", show_command),
        ("pause", "pause a schedule (no run until resumed)", pause_command),
        ("resume", "resume a schedule from its next slot", resume_command),
        ("run", "start a run of a schedule now", run_command),
    ):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("schedule_id", metavar="ID", help="a schedule id")
        action.set_defaults(handler=handler)

    rm = actions.add_parser(
        "rm", parents=[common], help="remove schedules (the jobs they started stay)"
    )
    rm.add_argument("schedule_ids", nargs="+", metavar="ID", help="a schedule id")
    rm.set_defaults(handler=rm_command)

    preview = actions.add_parser("preview", parents=[common], help="the next fire times")
    preview.add_argument("schedule_id", metavar="ID", help="a schedule id")
    preview.add_argument("--count", "-n", type=positive_int, default=10, help="how many times (10)")
    preview.add_argument("--from", dest="start", metavar="TIME", help="after this (ISO 8601)")
    preview.set_defaults(handler=preview_command)


def add_command(ctx: Context) -> int:
    args = ctx.args
    body: dict[str, Any] = {
        "module_id": args.module_id,
        "inputs": dict(args.inputs),
        "settings": dict(args.settings),
    }
    optional = {
        "cron": args.cron,
        "every": args.every,
        "timezone": args.timezone,
        "name": args.name,
        "retries": args.retries,
        "retry_delay": args.retry_delay,
        "max_duration": args.duration,
        "overlap": args.overlap,
        "misfire": args.misfire,
        "misfire_grace": args.grace,
        "start_at": args.start_at,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if args.paused:
        body["enabled"] = False
    made = ctx.client().post("/schedules", body)
    if ctx.json:
        ctx.out.json(made)
        return EXIT_OK
    ctx.out.line(f"Added schedule {ctx.out.style(made['id'], 'bold')} ({_when(made)})")
    if made.get("next_run_at"):
        ctx.out.line(f"  next run: {local_time(made['next_run_at'])}")
    ctx.out.line(f"  preview:  sweatpants schedule preview {made['id']}")
    return EXIT_OK


def list_command(ctx: Context) -> int:
    listed = ctx.client().get("/schedules")
    if ctx.json:
        ctx.out.json(listed)
        return EXIT_OK
    items = listed.get("schedules", [])
    if not items:
        ctx.out.line("No schedules.")
        return EXIT_OK
    rows = [
        [
            str(item["id"]),
            item.get("name") or item["module_id"],
            _when(item),
            local_time(item["next_run_at"], seconds=False) if item.get("next_run_at") else "paused",
            local_time(item["last_run_at"], seconds=False) if item.get("last_run_at") else "-",
            _status(ctx, item.get("last_status")),
        ]
        for item in items
    ]
    ctx.out.table(["ID", "NAME", "WHEN", "NEXT", "LAST", "STATUS"], rows)
    return EXIT_OK


def show_command(ctx: Context) -> int:
    item = ctx.client().get(_path(ctx.args.schedule_id))
    if ctx.json:
        ctx.out.json(item)
        return EXIT_OK
    out = ctx.out
    out.line(
        f"Schedule {out.style(item['id'], 'bold')}"
        + (f" ({item['name']})" if item.get("name") else "")
    )
    out.line(f"  module:    {item['module_id']}")
    out.line(f"  when:      {_when(item)}")
    out.line(f"  enabled:   {'yes' if item['enabled'] else 'no (paused)'}")
    out.line(f"  next run:  {local_time(item['next_run_at']) if item.get('next_run_at') else '-'}")
    last = "-"
    if item.get("last_run_at"):
        last = f"{local_time(item['last_run_at'])}, job {short_id(item['last_job_id'])}"
        last += f" {_status(ctx, item.get('last_status'))}"
    out.line(f"  last run:  {last}")
    out.line(
        f"  overlap:   {item['overlap']} (skipped {item['skipped']})"
        + (", one run queued" if item.get("queued") else "")
    )
    out.line(f"  misfire:   {item['misfire']} (grace {item['misfire_grace']})")
    out.line(f"  retries:   {item['retries']} (first after {item['retry_delay']})")
    if item.get("inputs"):
        out.line(f"  inputs:    {json.dumps(item['inputs'], ensure_ascii=False)}")
    return EXIT_OK


def _toggle(ctx: Context, action: str, word: str) -> int:
    item = ctx.client().post(_path(ctx.args.schedule_id, action))
    if ctx.json:
        ctx.out.json(item)
    else:
        next_run = item.get("next_run_at")
        tail = f"; next run {local_time(next_run)}" if next_run else ""
        ctx.out.line(f"{word} schedule {item['id']}{tail}")
    return EXIT_OK


def pause_command(ctx: Context) -> int:
    return _toggle(ctx, "pause", "Paused")


def resume_command(ctx: Context) -> int:
    return _toggle(ctx, "resume", "Resumed")


def run_command(ctx: Context) -> int:
    started = ctx.client().post(_path(ctx.args.schedule_id, "run"))
    if ctx.json:
        ctx.out.json(started)
    else:
        ctx.out.line(f"Started job {started['id']}")
        ctx.out.line(f"  logs: sweatpants logs -f {short_id(started['id'])}")
    return EXIT_OK


def rm_command(ctx: Context) -> int:
    answers = [ctx.client().delete(_path(schedule_id)) for schedule_id in ctx.args.schedule_ids]
    if ctx.json:
        ctx.out.json({"deleted": answers})
    else:
        for answer in answers:
            ctx.out.line(f"Removed schedule {answer['id']} (its past jobs stay)")
    return EXIT_OK


def preview_command(ctx: Context) -> int:
    params: dict[str, Any] = {"count": ctx.args.count}
    if ctx.args.start:
        params["from"] = ctx.args.start
    answer = ctx.client().get(_path(ctx.args.schedule_id, "preview"), params)
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_OK
    ctx.out.note(f"Next fire times ({answer['timezone']}):")
    for item in answer["times"]:
        ctx.out.line(item["local"])
    return EXIT_OK


def _when(item: dict[str, Any]) -> str:
    if item.get("cron"):
        return f"cron {item['cron']} ({item['timezone']})"
    return f"every {item['every']}"


def _status(ctx: Context, status: str | None) -> str:
    if not status:
        return "-"
    return ctx.out.style(status, STATUS_STYLES.get(status))
