"""`proxied_request`: HTTP through the engine's rotating proxy, from inside a job.

The proxy comes from the job's services (`SWEATPANTS_PROXY_URL`, `SWEATPANTS_PROXY_ROTATION_URL`):
with a `session_id` and a rotation pattern the request goes through the session's sticky exit;
without one, through the rotating proxy. With no proxy configured the request goes direct, and
says so: a warning on the `sweatpants.proxy` logger (once per job) and
`response.extensions["sweatpants_proxy"] == "direct"` (else `"rotating"` or `"sticky"`).
httpx is imported on first use, so importing the SDK stays cheap.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from sweatpants.sdk.runtime import current
from sweatpants.web import http
from sweatpants.web.headers import browser_headers
from sweatpants.web.proxy import ProxyChoice, ProxyConfig

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("sweatpants.proxy")


@functools.lru_cache(maxsize=64)
def _announce(job_id: str, note: str) -> None:
    # Cached so that a job making 10,000 requests says it once, not 10,000 times.
    logger.warning("proxied_request: %s", note)


async def proxied_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    data: Any = None,
    json: Any = None,
    timeout: float | None = 60,
    browser_mode: bool = False,
    session_id: str | None = None,
    geo: str | None = None,
    verify: bool | str = True,
) -> httpx.Response:
    """Send one HTTP request through the proxy and return the `httpx.Response` (body read).

    `session_id` pins the exit (same id → same proxy credentials); `geo` fills `{geo}` in the
    rotation pattern; `browser_mode` adds a consistent browser header set (one family per
    session) under your own `headers`. Redirects are followed. Network failures raise httpx's
    exceptions with the proxy's credentials scrubbed from the message. `verify=False` (or a
    CA bundle path) is for proxies that intercept TLS.
    """
    import httpx

    runtime = current()
    services = runtime.services
    choice = ProxyConfig(services.proxy_url, services.proxy_rotation_url).choose(session_id, geo)
    if choice.note:
        _announce(runtime.job_id, choice.note + ("; requests go direct" if not choice.url else ""))
    request_headers: dict[str, str] = dict(headers or {})
    if browser_mode:
        request_headers = browser_headers(request_headers, session_id=session_id, geo=geo)
    try:
        async with http.make_client(choice, timeout or 60.0, verify=verify) as client:
            response = await client.request(
                method.upper(), url, headers=request_headers, params=params, data=data, json=json
            )
    except httpx.HTTPError as exc:
        _scrub_exception(exc, choice)
        raise
    http.annotate(response, choice)
    return response


def _scrub_exception(exc: BaseException, choice: ProxyChoice) -> None:
    if choice.url:
        exc.args = tuple(choice.scrub(arg) if isinstance(arg, str) else arg for arg in exc.args)
