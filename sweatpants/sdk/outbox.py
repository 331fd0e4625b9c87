"""The job side of `Module.send_callback`: hand a signed callback to the daemon's delivery queue.

The job POSTs `{url, payload, secret, user_id, issuer, job_id}` to the daemon's
`/deliveries`; the daemon stores it, signs each attempt with a fresh token in the earlier
engine's format (`callback:write`, `jti` = the job id) and retries with backoff for up to a
day, across restarts (`sweatpants/webhooks/`). Then the job asks `GET /deliveries/{id}?wait=`
whether the receiver answered 2xx within `wait` seconds. Outside a daemon (a module's own unit
test, no `SWEATPANTS_URL`) it falls back to the earlier engine's single direct POST.

httpx is imported on first use, so importing the SDK stays cheap.
"""

from __future__ import annotations

import time
from typing import Any

from sweatpants.errors import InvalidInput, SweatpantsError, Unavailable
from sweatpants.sdk.runtime import Services

MAX_WAIT_PER_ASK = 300.0  # the daemon's longest `wait` per request
REQUEST_TIMEOUT = 30.0  # talking to the daemon (waits add to it)


class _Refused(SweatpantsError):
    """The daemon refused the callback (its status and detail are the daemon's)."""


async def send_callback(
    services: Services,
    job_id: str,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str | None,
    user_id: int | None,
    issuer: str | None,
    wait: float,
) -> bool:
    """Queue the callback in the daemon; True once the receiver answered 2xx within `wait`."""
    if not isinstance(payload, dict):
        raise InvalidInput("payload must be a dict (sent as a JSON object)", field="payload")
    if not services.daemon_url:
        from sweatpants.sdk.callback import send_signed_callback

        return await send_signed_callback(
            url, payload, secret, issuer=issuer or "sweatpants", user_id=user_id, job_id=job_id
        )
    import httpx

    body = {
        "url": url,
        "payload": payload,
        "secret": secret,
        "user_id": user_id or 0,
        "issuer": issuer,
        "job_id": job_id or None,
    }
    headers = {"Authorization": f"Bearer {services.api_token}"} if services.api_token else {}
    base = services.daemon_url.rstrip("/")
    deadline = time.monotonic() + max(0.0, wait)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=REQUEST_TIMEOUT, trust_env=False
    ) as client:
        delivery = await _call(client, "POST", "/deliveries", json=body)
        for _ in range(10_000):  # bounded: `wait` is spent in asks of up to 300 s each
            if delivery.get("status") != "pending":
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ask = min(left, MAX_WAIT_PER_ASK)
            delivery = await _call(
                client,
                "GET",
                f"/deliveries/{delivery['id']}",
                params={"wait": round(ask, 3)},
                timeout=ask + REQUEST_TIMEOUT,
            )
    return delivery.get("status") == "delivered"


async def _call(client: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    import httpx

    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot reach the daemon to send a callback: {exc}") from None
    if response.status_code >= 400:
        try:
            answer = response.json()
        except ValueError:
            answer = {"detail": response.text[:300]}
        error = _Refused(str(answer.get("detail")), field=answer.get("field"))
        error.status = response.status_code
        error.code = str(answer.get("error") or "refused")
        raise error
    result: dict[str, Any] = response.json()
    return result
