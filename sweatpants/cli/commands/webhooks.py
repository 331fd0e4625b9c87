"""`webhook add|list|rm|test|deliveries`: the receivers told about job events."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_ERROR, EXIT_OK
from sweatpants.cli.formatting import local_time, short_id

EVENTS = ("job.created", "job.started", "job.completed", "job.failed", "job.stopped")
ENDINGS = ["job.completed", "job.failed", "job.stopped"]
DELIVERY_STYLES = {"delivered": "green", "failed": "red", "pending": "yellow"}
TEST_WAIT = 15.0


def _path(webhook_id: str) -> str:
    return f"/webhooks/{quote(webhook_id, safe='')}"


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    webhook = sub.add_parser(
        "webhook",
        parents=[common],
        help="webhooks: tell other systems when jobs end",
        description="Add, list, remove and test webhooks, and read their delivery log.",
    )
    actions = webhook.add_subparsers(dest="webhook_action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add a webhook",
        description=(
            "Add a webhook: the daemon POSTs the job (secrets masked) with `event` and "
            "`delivered_at` to URL for each event, retrying failures for up to a day."
        ),
        epilog="example:\n  sweatpants webhook add https://example.org/hook --secret s3cr3t",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("hook_url", metavar="URL", help="an http:// or https:// URL")
    add.add_argument(
        "--event",
        "-e",
        dest="events",
        action="append",
        choices=EVENTS,
        help="an event to send (repeatable; default: job.completed, job.failed, job.stopped)",
    )
    add.add_argument("--module", "-m", help="only jobs of this module")
    add.add_argument("--secret", help="sign deliveries with this shared secret")
    add.set_defaults(handler=add_command)

    listing = actions.add_parser("list", parents=[common], help="list webhooks")
    listing.set_defaults(handler=list_command)

    rm = actions.add_parser("rm", parents=[common], help="remove webhooks")
    rm.add_argument("webhook_ids", nargs="+", metavar="ID", help="a webhook id")
    rm.set_defaults(handler=rm_command)

    test = actions.add_parser(
        "test",
        parents=[common],
        help="send a webhook.test delivery now and show how it went",
    )
    test.add_argument("webhook_id", metavar="ID", help="a webhook id")
    test.set_defaults(handler=test_command)

    log = actions.add_parser(
        "deliveries", parents=[common], help="a webhook's delivery log, newest first"
    )
    log.add_argument("webhook_id", metavar="ID", help="a webhook id")
    log.add_argument("--limit", "-n", type=int, default=20, help="at most N deliveries (20)")
    log.set_defaults(handler=deliveries_command)


def add_command(ctx: Context) -> int:
    args = ctx.args
    body: dict[str, Any] = {"url": args.hook_url, "events": args.events or ENDINGS}
    if args.module:
        body["module_id"] = args.module
    if args.secret:
        body["secret"] = args.secret
    hook = ctx.client().post("/webhooks", body)
    if ctx.json:
        ctx.out.json(hook)
    else:
        ctx.out.line(f"Added webhook {hook['id']} → {hook['url']} ({', '.join(hook['events'])})")
    return EXIT_OK


def list_command(ctx: Context) -> int:
    hooks = ctx.client().get("/webhooks")
    if ctx.json:
        ctx.out.json(hooks)
        return EXIT_OK
    items = hooks.get("webhooks", [])
    if not items:
        ctx.out.line("No webhooks.")
        return EXIT_OK
    rows = [
        [
            str(hook["id"]),
            str(hook["url"]),
            ", ".join(hook["events"]),
            hook.get("module_id") or "any",
            "yes" if hook.get("has_secret") else "no",
            "on" if hook.get("enabled") else "off",
        ]
        for hook in items
    ]
    ctx.out.table(["ID", "URL", "EVENTS", "MODULE", "SIGNED", "ENABLED"], rows)
    return EXIT_OK


def rm_command(ctx: Context) -> int:
    answers = [ctx.client().delete(_path(webhook_id)) for webhook_id in ctx.args.webhook_ids]
    if ctx.json:
        ctx.out.json({"deleted": answers})
    else:
        for answer in answers:
            ctx.out.line(f"Removed webhook {answer['id']}")
    return EXIT_OK


def test_command(ctx: Context) -> int:
    delivery = ctx.client().post(
        f"{_path(ctx.args.webhook_id)}/test?wait={TEST_WAIT:g}", timeout=TEST_WAIT + 30
    )
    if ctx.json:
        ctx.out.json(delivery)
    else:
        ctx.out.line(_delivery_line(ctx, delivery))
    return EXIT_OK if delivery.get("status") == "delivered" else EXIT_ERROR


def deliveries_command(ctx: Context) -> int:
    page = ctx.client().get(
        f"{_path(ctx.args.webhook_id)}/deliveries", {"limit": max(1, ctx.args.limit)}
    )
    if ctx.json:
        ctx.out.json(page)
        return EXIT_OK
    items = page.get("deliveries", [])
    if not items:
        ctx.out.line("No deliveries yet.")
    for delivery in items:
        ctx.out.line(_delivery_line(ctx, delivery))
    return EXIT_OK


def _delivery_line(ctx: Context, delivery: dict[str, Any]) -> str:
    status = str(delivery.get("status"))
    parts = [
        local_time(delivery.get("created_at")),
        str(delivery.get("event")),
        ctx.out.style(status, DELIVERY_STYLES.get(status)),
        f"{delivery.get('attempts')} attempt(s)",
    ]
    if delivery.get("response_code") is not None:
        parts.append(f"HTTP {delivery['response_code']}")
    if delivery.get("duration_ms") is not None:
        parts.append(f"{delivery['duration_ms']:.0f} ms")
    if delivery.get("job_id"):
        parts.append(f"job {short_id(str(delivery['job_id']))}")
    if delivery.get("error"):
        parts.append(str(delivery["error"]))
    if status == "pending" and delivery.get("next_attempt_at"):
        parts.append(f"next try {local_time(delivery['next_attempt_at'])}")
    return "  ".join(parts)
