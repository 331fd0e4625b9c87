"""The app's engine: the daemon already answering on the configured port, or one of our own.

`probe()` tells three cases apart: nothing listens (we start `ServerThread`), a Sweatpants
daemon answers `GET /status` with `"engine": "sweatpants"` (we use it and leave it running
on Quit), or some other program holds the port (we say which port and how to pick another).
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from sweatpants.config import Settings
from sweatpants.errors import Unavailable

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


class PortTaken(Unavailable):
    """The configured port is held by a program that is not a Sweatpants daemon."""


class PortState(enum.Enum):
    FREE = "free"
    SWEATPANTS = "sweatpants"
    OTHER = "other"


@dataclass(frozen=True)
class Probe:
    state: PortState
    token: str = ""
    version: str = ""
    detail: str = ""


class _Server(Protocol):
    def start(self) -> None: ...
    def wait_ready(self, timeout: float) -> None: ...
    def stop(self, timeout: float) -> None: ...


@dataclass
class EngineLink:
    """Where the engine is, the token to reach it, and the server thread if it is ours."""

    url: str
    token: str
    server: _Server | None = None

    @property
    def owned(self) -> bool:
        return self.server is not None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def stop(self, timeout: float) -> None:
        """Stop our daemon (running jobs checkpoint within the grace); a foreign one stays."""
        if self.server is not None:
            server, self.server = self.server, None
            server.stop(timeout)


def _daemon_record(settings: Settings) -> dict[str, Any]:
    """What the daemon of this data folder recorded in its daemon file ({} if nothing)."""
    try:
        record: Any = json.loads(Path(settings.daemon_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_url(settings: Settings) -> str:
    """The URL the daemon of this data folder recorded ('' if none): its real port, also
    when `api_port` 0 let it pick one."""
    url = _daemon_record(settings).get("url")
    return url.rstrip("/") if isinstance(url, str) else ""


def _daemon_file_token(settings: Settings) -> str:
    """The token a live daemon recorded for this URL, if any."""
    record = _daemon_record(settings)
    if str(record.get("url", "")).rstrip("/") != settings.base_url:
        return ""
    token = record.get("token")
    return token if isinstance(token, str) else ""


def probe(settings: Settings) -> Probe:
    """What answers on the configured host and port."""
    url = settings.base_url + "/status"
    candidates = [settings.api_auth_token]
    recorded = _daemon_file_token(settings)
    if recorded and recorded != settings.api_auth_token:
        candidates.append(recorded)
    last = Probe(PortState.OTHER)
    for token in candidates:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = httpx.get(url, headers=headers, timeout=PROBE_TIMEOUT)
        except httpx.ConnectError:
            return Probe(PortState.FREE)
        except httpx.HTTPError as exc:
            return Probe(PortState.OTHER, detail=f"it does not answer HTTP ({exc})")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Probe(PortState.OTHER, detail=f"it answered HTTP {response.status_code}")
        if response.status_code == 200 and body.get("engine") == "sweatpants":
            return Probe(PortState.SWEATPANTS, token=token, version=str(body.get("version", "")))
        if response.status_code == 401 and body.get("error") == "unauthorized":
            last = Probe(
                PortState.OTHER,
                detail="a Sweatpants daemon answers but refuses our token; "
                "set SWEATPANTS_API_AUTH_TOKEN to its token",
            )
            continue
        return Probe(PortState.OTHER, detail=f"it answered HTTP {response.status_code}")
    return last


def _port_message(settings: Settings, detail: str) -> str:
    return (
        f"Port {settings.api_port} on {settings.api_host} is in use by another program"
        f"{' (' + detail + ')' if detail else ''}, not by a Sweatpants daemon. Stop that "
        f"program, or start Sweatpants on another port: {Settings.env_name('api_port')}=8421 "
        "sweatpants app"
    )


def connect_or_start(settings: Settings, ready_timeout: float = 30.0) -> EngineLink:
    """Use the daemon already on the port, or start ours in a thread and wait until it serves."""
    found = probe(settings)
    if found.state is PortState.SWEATPANTS:
        log.info("desktop: using the Sweatpants daemon already running at %s", settings.base_url)
        return EngineLink(url=settings.base_url, token=found.token)
    if found.state is PortState.OTHER:
        raise PortTaken(_port_message(settings, found.detail))
    from sweatpants.server import ServerThread

    server = ServerThread(settings)
    server.start()
    try:
        server.wait_ready(ready_timeout)
    except Exception as exc:
        server.stop(5.0)
        again = probe(settings)
        if again.state is PortState.OTHER:
            raise PortTaken(_port_message(settings, again.detail)) from exc
        if again.state is PortState.SWEATPANTS:  # another launcher won the race: use it
            return EngineLink(url=settings.base_url, token=again.token)
        raise Unavailable(f"the Sweatpants daemon did not start: {exc}") from exc
    log.info("desktop: daemon started at %s", server.url)  # the bound port, when 0 asked for any
    # The server's settings: its token is this run's own when only signed tokens are configured.
    return EngineLink(url=server.url, token=server.settings.api_auth_token, server=server)
