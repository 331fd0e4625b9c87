"""`sweatpants token mint`: a signed user token, for testing and scripts.

Minted here with SWEATPANTS_API_SIGNED_TOKEN_SECRET (environment or env file), in the format
the daemon verifies (sweatpants/tokens.py); no daemon is needed.
"""

from __future__ import annotations

import argparse
import time

from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from sweatpants.config import Settings
from sweatpants.jobs.models import iso, parse_duration
from sweatpants.tokens import DEFAULT_ISSUER, mint_token, scope_list

DEFAULT_TTL = "1h"


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """`token mint` (offline: it takes none of the daemon options in `common`)."""
    token = sub.add_parser(
        "token",
        help="signed user tokens",
        description="Signed user tokens (see docs/api.md, 'Signed user tokens').",
    )
    actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    mint = actions.add_parser(
        "mint",
        help="print a signed token (needs SWEATPANTS_API_SIGNED_TOKEN_SECRET)",
        description=(
            "Print a signed user token for user SUB with the given scopes, signed with "
            "SWEATPANTS_API_SIGNED_TOKEN_SECRET (the daemon's secret). No daemon is needed."
        ),
        epilog=(
            "example:\n"
            '  sweatpants token mint --sub 42 --scope "jobs:read jobs:write" --ttl 1h\n'
            '  curl -H "Authorization: Bearer $(sweatpants token mint --sub 42 '
            '--scope jobs:read)" http://127.0.0.1:8420/jobs'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mint.add_argument("--sub", type=int, required=True, help="the user id, an integer > 0")
    mint.add_argument(
        "--scope",
        action="append",
        required=True,
        help='space-separated scopes, e.g. "jobs:read jobs:write" or "*" (repeatable)',
    )
    mint.add_argument(
        "--ttl", default=DEFAULT_TTL, help=f"how long it is valid: 30m, 1h, 7d ({DEFAULT_TTL})"
    )
    mint.add_argument("--issuer", default=DEFAULT_ISSUER, help="the iss claim (sweatpants)")
    mint.add_argument("--jti", help="a token id (the jti claim), if you want one")
    mint.add_argument("--json", action="store_true", help="print the token and its claims as JSON")
    mint.set_defaults(handler=mint_command)


def mint_command(ctx: Context) -> int:
    args = ctx.args
    variable = Settings.env_name("api_signed_token_secret")
    secret = ctx.settings().api_signed_token_secret
    if not secret:
        raise CliError(
            f"{variable} is not set: set it to the daemon's signed-token secret "
            "(in the environment or the SWEATPANTS_ENV_FILE)",
            field=variable,
        )
    if args.sub < 1:
        raise CliError(
            f"--sub must be a user id of 1 or more (got {args.sub}); the daemon refuses 0",
            field="--sub",
            exit_code=EXIT_USAGE,
        )
    scopes = scope_list(args.scope)
    if not scopes:
        raise CliError("--scope names no scope", field="--scope", exit_code=EXIT_USAGE)
    ttl = parse_duration(args.ttl, field="--ttl")
    now = time.time()
    token = mint_token(secret, args.sub, scopes, ttl, issuer=args.issuer, jti=args.jti, now=now)
    if ctx.json:
        ctx.out.json(
            {
                "token": token,
                "sub": args.sub,
                "scope": " ".join(scopes),
                "exp": int(now + ttl),
                "expires_at": iso(int(now + ttl)),
            }
        )
    else:
        ctx.out.line(token)
    return EXIT_OK
