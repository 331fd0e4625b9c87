"""How a delivery proves where it came from (docs/api.md, "Verifying a delivery").

With a secret, every request carries two independent proofs; a receiver checks either:

- `X-Sweatpants-Timestamp: <unix seconds>` and `X-Sweatpants-Signature: sha256=<hex>`, the hex
  HMAC-SHA256 with the secret as key of the timestamp, a `.`, and the raw body bytes. The
  timestamp is inside the signature, so a receiver that refuses old timestamps (5 minutes)
  refuses replays.
- `Authorization: Bearer <token>` in the earlier engine's callback format
  (`sweatpants.tokens`): scope `callback:write`, `jti` the job id, valid for 300 s, so the
  earlier engine's receivers verify it unchanged. A fresh token is minted for each attempt.
"""

from __future__ import annotations

import hashlib
import hmac

from sweatpants.tokens import CALLBACK_SCOPE, CALLBACK_TTL, DEFAULT_ISSUER, mint_token
from sweatpants.version import __version__

SIGNATURE_HEADER = "X-Sweatpants-Signature"
TIMESTAMP_HEADER = "X-Sweatpants-Timestamp"
EVENT_HEADER = "X-Sweatpants-Event"
DELIVERY_HEADER = "X-Sweatpants-Delivery"
USER_AGENT = f"sweatpants/{__version__} (webhooks and callbacks)"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(
    *,
    body: bytes,
    event: str,
    delivery_id: str,
    now: float,
    secret: str | None,
    sub: int = 0,
    issuer: str | None = None,
    jti: str | None = None,
) -> dict[str, str]:
    """Every header of one attempt."""
    out = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        timestamp = int(now)
        out[TIMESTAMP_HEADER] = str(timestamp)
        out[SIGNATURE_HEADER] = signature(secret, timestamp, body)
        token = mint_token(
            secret,
            max(0, sub),
            CALLBACK_SCOPE,
            CALLBACK_TTL,
            issuer=issuer or DEFAULT_ISSUER,
            jti=jti,
            now=now,
        )
        out["Authorization"] = f"Bearer {token}"
    return out
