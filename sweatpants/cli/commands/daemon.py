"""`serve` and `app` (start the daemon here), `status` (ask it), `config` (read the settings)."""

from __future__ import annotations

import argparse
from typing import Any

from sweatpants.cli.context import Context
from sweatpants.cli.errors import CliError
from sweatpants.cli.formatting import job_runtime, local_time, progress_text, short_id
from sweatpants.cli.output import STATUS_STYLES
from sweatpants.config import Settings

STATUSES = ("pending", "running", "completed", "failed", "stopped")


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 picks a free one)")
    return port


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    serve = sub.add_parser(
        "serve",
        add_help=False,  # -h is --host here, as in the earlier engine
        help="run the daemon in this terminal (Ctrl-C stops it)",
        description="Run the Sweatpants daemon (REST + WebSocket API) in the foreground.",
    )
    serve.add_argument("--help", action="help", help="show this help and exit")
    serve.add_argument(
        "--host", "-h", help=f"address to listen on (default: {Settings.env_name('api_host')})"
    )
    serve.add_argument(
        "--port",
        "-p",
        type=port_number,
        help=f"port to listen on, 0 for any free one (default: {Settings.env_name('api_port')})",
    )
    serve.set_defaults(handler=serve_command)

    app = sub.add_parser(
        "app",
        add_help=False,  # every argument, --help included, goes to the desktop launcher
        help="start the tray app (it starts the daemon and opens the dashboard)",
        description="Start the Sweatpants tray app.",
    )
    app.set_defaults(handler=app_command, app_args=[])  # main() hands over the rest

    status = sub.add_parser(
        "status",
        parents=[common],
        help="daemon uptime, module count and the jobs running now",
        description="Show the daemon's status and a table of its pending and running jobs.",
    )
    status.set_defaults(handler=status_command)

    config = sub.add_parser(
        "config",
        parents=[common],
        help="the effective settings and where each came from (no daemon needed)",
        description=(
            "Show every setting, its effective value and where it came from (environment, env "
            "file or default). Secrets are masked. Works without a running daemon."
        ),
    )
    config.set_defaults(handler=config_command)


def serve_command(ctx: Context) -> int:
    settings = ctx.settings()
    overrides: dict[str, Any] = {}
    if ctx.args.host:
        overrides["api_host"] = ctx.args.host
    if ctx.args.port is not None:
        overrides["api_port"] = ctx.args.port
    if overrides:
        settings = settings.with_overrides(**overrides)
    from sweatpants.server import serve

    return int(serve(settings) or 0)


def app_command(ctx: Context) -> int:
    try:
        from sweatpants.desktop.launcher import main as launch
    except ImportError as exc:
        raise CliError(
            f"the desktop app cannot start: {exc}; install the GUI extras "
            "(pip install 'sweatpants[gui]') or run 'sweatpants serve'"
        ) from None
    return int(launch(list(ctx.args.app_args)) or 0)


def status_command(ctx: Context) -> int:
    status = ctx.client().get("/status")
    if ctx.json:
        ctx.out.json(status)
        return 0
    out = ctx.out
    version = status.get("version")
    state = str(status.get("status", "unknown"))
    head = "Sweatpants" + (f" {version}" if version else "")
    state_style = "green" if state == "running" else "yellow"
    out.line(f"{out.style(head, 'bold')}  {out.style(state, state_style)}")
    out.line(f"URL:      {ctx.target().url}")
    out.line(f"Uptime:   {status.get('uptime', '')}")
    out.line(f"Modules:  {status.get('module_count', 0)}")
    counts = status.get("counts")
    if isinstance(counts, dict):
        out.line("Jobs:     " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES))
    if status.get("executor"):
        out.line(f"Executor: {status['executor']}")
    jobs = status.get("jobs") or []
    out.line()
    if not jobs:
        out.line("No running jobs.")
        return 0
    rows, styles = [], []
    for job in jobs:
        job_status = str(job.get("status", ""))
        rows.append(
            [
                short_id(str(job.get("id", ""))),
                str(job.get("module_id", "")),
                job_status,
                local_time(job.get("started_at"), seconds=False),
                job_runtime(job),
                progress_text(job.get("progress")),
            ]
        )
        styles.append([None, None, STATUS_STYLES.get(job_status), None, None, None])
    out.table(["ID", "MODULE", "STATUS", "STARTED", "RUNTIME", "PROGRESS"], rows, styles)
    return 0


def config_command(ctx: Context) -> int:
    rows = ctx.settings().described()
    target = ctx.target()
    if ctx.json:
        ctx.out.json(
            {"settings": rows, "daemon_url": target.url, "daemon_url_source": target.source}
        )
        return 0
    ctx.out.table(
        ["SETTING", "VALUE", "SOURCE"],
        [[row["name"], row["value"], row["source"]] for row in rows],
        [[None, None, "dim" if row["source"] == "default" else "cyan"] for row in rows],
    )
    ctx.out.line()
    ctx.out.line(f"The CLI talks to {target.url} (from {target.source}).")
    return 0
