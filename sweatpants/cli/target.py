"""Where the daemon is and which token to send it.

URL, first that applies: `--url`, `SWEATPANTS_URL`, the URL a live daemon recorded in its
daemon file (only when the host and port settings are left at their defaults or the port is
0, so `sweatpants serve -p 9000` is found without flags), then the configured host and port.
Token: `SWEATPANTS_API_AUTH_TOKEN` (environment or env file), else the token in the daemon
file, sent only to the URL that file names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweatpants.cli.errors import EXIT_USAGE, CliError
from sweatpants.config import Settings
from sweatpants.processes import pid_alive

URL_VARIABLE = "SWEATPANTS_URL"


@dataclass(frozen=True)
class Target:
    """A daemon to talk to: its base URL, the bearer token (or ""), and why this URL."""

    url: str
    token: str
    source: str

    @property
    def ws_url(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return ("wss" if scheme == "https" else "ws") + "://" + rest


def normalize_url(url: str) -> str:
    """`127.0.0.1:8420/` → `http://127.0.0.1:8420`; refuses what is not an http(s) URL."""
    text = url.strip().rstrip("/")
    if "://" not in text:
        text = "http://" + text
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in {"http", "https"} or not rest:
        raise CliError(
            f"{url!r} is not a daemon URL; use one like http://127.0.0.1:8420",
            field="--url",
            exit_code=EXIT_USAGE,
        )
    return f"{scheme.lower()}://{rest}"


def read_daemon_file(path: Path) -> dict[str, Any] | None:
    """The running daemon's record (`url`, `pid`, `version`, `token`), or None if unusable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def resolve_target(
    url_option: str | None,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Target:
    """Work out the daemon's URL and token from the flags, environment and daemon file."""
    env = os.environ if environ is None else environ
    settings = settings or Settings.load(env)
    record = read_daemon_file(settings.daemon_file)
    recorded_url = ""
    if record and isinstance(record.get("url"), str) and record["url"]:
        recorded_url = normalize_url(record["url"])
    if url_option:
        url, source = normalize_url(url_option), "--url"
    elif env.get(URL_VARIABLE, "").strip():
        url, source = normalize_url(env[URL_VARIABLE]), URL_VARIABLE
    elif (
        recorded_url
        and "api_host" not in settings.sources
        and ("api_port" not in settings.sources or settings.api_port == 0)  # 0: any free port
        and pid_alive(record.get("pid") if record else None)
    ):
        url, source = recorded_url, f"daemon file {settings.daemon_file}"
    else:
        url, source = normalize_url(settings.base_url), "settings"
    token = settings.api_auth_token
    if not token and record and recorded_url == url and isinstance(record.get("token"), str):
        token = record["token"]
    return Target(url=url, token=token, source=source)
