"""Signed tokens in the earlier engine's format: mint them, verify them.

A token is `<base64url(payload JSON)>.<base64url(HMAC-SHA256(secret, payload part))>`. The
HMAC covers the payload part *as sent* (the base64url text, `=` padding included when the
issuer padded it), never the decoded JSON, so whitespace in the JSON never matters. Either
part may come with or without `=` padding; the verifier re-pads and splits on the last `.`.

Claims: `iss` (optional string), `sub` (the user id, an integer > 0), `scope` (space-separated
scope names, at least one; `*` is every scope), `exp` (unix seconds), `jti` (optional string).

Pure standard library plus the error family, so a job process (the SDK's callbacks) and the
daemon (the API's guard) share this one implementation. Nothing here logs a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sweatpants.errors import Forbidden, Unauthorized

ALL_SCOPES = "*"
# Scope names the earlier engine's routes asked for, and what each grants here; a token its
# issuers mint for those routes works on ours.
EARLIER_SCOPES: dict[str, tuple[str, ...]] = {
    "read": ("modules:read",),  # its GET /status and /modules
    "modules:admin": ("modules:read", "modules:write"),  # its install, uninstall, sync, reload
    "callbacks:admin": ("callback:read", "callback:write"),  # its whole /callbacks inbox
}
CALLBACK_SCOPE = "callback:write"
DEFAULT_ISSUER = "sweatpants"
CALLBACK_TTL = 300  # seconds: what the earlier engine gives a callback token
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class Reason(StrEnum):
    """The short reasons a 401 gives, word for word as the earlier engine's clients see them."""

    MISSING_HEADER = "missing header"  # no Authorization header (and no ?token= where allowed)
    NOT_BEARER = "not Bearer"  # an Authorization header of another scheme
    MALFORMED_TOKEN = "malformed token"  # not `<payload>.<signature>` in base64url
    INVALID_SIGNATURE = "invalid signature"  # signed with another secret, or altered
    MALFORMED_PAYLOAD = "malformed payload"  # the signed part is not a JSON object
    TOKEN_EXPIRED = "token expired"  # `exp` has come (or is missing, or not a number)
    INVALID_SUBJECT = "missing or invalid subject"  # `sub` absent, not an integer, or <= 0
    NO_SCOPES = "token has no scopes"  # `scope` absent or empty
    INVALID_CREDENTIALS = "invalid credentials"  # neither the master token nor a signed token


class InvalidToken(Unauthorized):
    """A bearer credential was refused; `reason` is one of `Reason` (also the `detail`)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class MissingScope(Forbidden):
    """A valid signed token without the scope the route needs; `scope` names it."""

    code = "missing_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"token missing required scope: {scope}")
        self.scope = scope


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says. `scopes` keeps the order of the token's `scope` claim."""

    sub: int
    scopes: tuple[str, ...]
    exp: int
    iss: str | None = None
    jti: str | None = None

    def allows(self, scope: str) -> bool:
        """True when the token carries `scope`, its family's `family:*`, `*`, or one of the
        earlier engine's names that grants it (`EARLIER_SCOPES`)."""
        family = scope.partition(":")[0] + ":*"
        if ALL_SCOPES in self.scopes or scope in self.scopes or family in self.scopes:
            return True
        return any(scope in EARLIER_SCOPES.get(held, ()) for held in self.scopes)

    def require(self, scope: str) -> None:
        """Raise `MissingScope` (403) unless the token allows `scope`."""
        if not self.allows(scope):
            raise MissingScope(scope)


def b64url_encode(data: bytes, *, padded: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without its `=` padding; ValueError for anything else."""
    stripped = text.rstrip("=")
    if not _B64URL.fullmatch(stripped) or len(text) - len(stripped) > 2:
        raise ValueError("not base64url")
    raw = stripped.encode("ascii")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except binascii.Error as exc:  # a length no encoder makes (4n + 1 characters)
        raise ValueError("not base64url") from exc


def _signature(secret: str | bytes, payload_part: str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, payload_part.encode("ascii"), hashlib.sha256).digest()


def scope_list(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """`"jobs:read jobs:write"` or `["jobs:read", "jobs:write"]` → a tuple without repeats."""
    items = (
        scopes.split() if isinstance(scopes, str) else [s for part in scopes for s in part.split()]
    )
    return tuple(dict.fromkeys(items))


def mint_token(
    secret: str | bytes,
    sub: int,
    scopes: str | Iterable[str],
    ttl: float = CALLBACK_TTL,
    *,
    issuer: str | None = DEFAULT_ISSUER,
    jti: str | None = None,
    now: float | None = None,
    padded: bool = False,
) -> str:
    """A signed token for user `sub` with `scopes`, valid for `ttl` seconds from `now`.

    The payload is compact JSON (`iss`, `sub`, `scope`, `exp`, `jti`; `iss`/`jti` left out when
    None), base64url without padding unless `padded`. `sub` 0 is allowed here because the
    earlier engine's callbacks use it for "unknown user", but `verify_token` refuses it.
    """
    if not secret:
        raise ValueError("a signing secret is required")
    if isinstance(sub, bool) or not isinstance(sub, int) or sub < 0:
        raise ValueError(f"sub must be an integer user id >= 0, got {sub!r}")
    claims: dict[str, object] = {}
    if issuer is not None:
        claims["iss"] = issuer
    claims["sub"] = sub
    claims["scope"] = " ".join(scope_list(scopes))
    claims["exp"] = int((time.time() if now is None else now) + ttl)
    if jti is not None:
        claims["jti"] = jti
    body = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    payload_part = b64url_encode(body, padded=padded)
    return f"{payload_part}.{b64url_encode(_signature(secret, payload_part), padded=padded)}"


def verify_token(secret: str | bytes, token: str, *, now: float | None = None) -> TokenClaims:
    """The claims of `token` if `secret` signed it and it holds; else `InvalidToken(reason)`.

    Checked in this order (the earlier engine's): shape, signature (constant-time), payload,
    expiry, subject, scopes.
    """
    if not secret:
        raise InvalidToken(Reason.INVALID_CREDENTIALS)
    payload_part, dot, signature_part = token.strip().rpartition(".")
    if not dot or not payload_part or not signature_part:
        raise InvalidToken(Reason.MALFORMED_TOKEN)
    try:
        b64url_decode(payload_part)  # shape only: decoding it means nothing until it is signed
        offered = b64url_decode(signature_part)
        expected = _signature(secret, payload_part)
    except ValueError:
        raise InvalidToken(Reason.MALFORMED_TOKEN) from None
    if not hmac.compare_digest(offered, expected):
        raise InvalidToken(Reason.INVALID_SIGNATURE)
    try:
        claims = json.loads(b64url_decode(payload_part).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken(Reason.MALFORMED_PAYLOAD) from None
    if not isinstance(claims, dict):
        raise InvalidToken(Reason.MALFORMED_PAYLOAD)
    # As the earlier engine decides: an `exp` that is missing or not a number is expired, and
    # so is one equal to now; an `iss` or `jti` that is not a string is left out.
    exp = claims.get("exp")
    if (
        isinstance(exp, bool)
        or not isinstance(exp, int | float)
        or not math.isfinite(exp)
        or exp <= (time.time() if now is None else now)
    ):
        raise InvalidToken(Reason.TOKEN_EXPIRED)
    sub = _subject(claims.get("sub"))
    scope = claims.get("scope")
    scopes = scope_list(scope) if isinstance(scope, str) else ()
    if not scopes:
        raise InvalidToken(Reason.NO_SCOPES)
    iss, jti = claims.get("iss"), claims.get("jti")
    return TokenClaims(
        sub=sub,
        scopes=scopes,
        exp=int(exp),
        iss=iss if isinstance(iss, str) else None,
        jti=jti if isinstance(jti, str) else None,
    )


def _subject(value: object) -> int:
    """`sub` as a positive int; a string of digits is taken too (some issuers quote ids)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidToken(Reason.INVALID_SUBJECT)
    return value
