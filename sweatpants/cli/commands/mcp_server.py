"""`sweatpants mcp`: serve the Model Context Protocol over stdio for an AI agent."""

from __future__ import annotations

import argparse

from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_OK, CliError


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    mcp = sub.add_parser(
        "mcp",
        parents=[common],
        help="serve the Model Context Protocol over stdio (for AI agents)",
        description=(
            "Serve MCP on stdin/stdout: an agent (its MCP client starts this command) can list "
            "and describe modules, start jobs, follow their status, logs and results, stop "
            "them, and manage schedules. It talks to the running daemon over its REST API, "
            "like the other commands (--url, SWEATPANTS_URL, SWEATPANTS_API_AUTH_TOKEN)."
        ),
        epilog='an agent\'s configuration: {"command": "sweatpants", "args": ["mcp"]}',
    )
    mcp.set_defaults(handler=mcp_command)


def mcp_command(ctx: Context) -> int:
    try:
        from sweatpants.mcp.server import serve_stdio
    except ImportError as exc:
        raise CliError(
            f"sweatpants mcp needs the mcp package ({exc}); install it with: pip install mcp"
        ) from None
    serve_stdio(ctx.target())
    return EXIT_OK
