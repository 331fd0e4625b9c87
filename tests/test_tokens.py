"""Signed tokens (sweatpants/tokens.py): the earlier engine's format, minted and verified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from sweatpants.errors import Forbidden, Unauthorized
from sweatpants.tokens import (
    InvalidToken,
    MissingScope,
    Reason,
    TokenClaims,
    b64url_decode,
    mint_token,
    verify_token,
)

SECRET = "shared-secret-of-the-issuer"


def handmade(claims: object, secret: str = SECRET, *, padded: bool = False, raw: str = "") -> str:
    """A token built the way an outside issuer (a PHP plugin) builds one, without our minting."""
    body = raw or json.dumps(claims)  # default separators: spaces in the JSON
    payload = base64.urlsafe_b64encode(body.encode()).decode()
    if not padded:
        payload = payload.rstrip("=")
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).decode()
    if not padded:
        signature = signature.rstrip("=")
    return f"{payload}.{signature}"


def reason_of(token: str, secret: str = SECRET, now: float | None = None) -> Reason:
    with pytest.raises(InvalidToken) as refused:
        verify_token(secret, token, now=now)
    assert isinstance(refused.value, Unauthorized) and refused.value.status == 401
    assert refused.value.detail == refused.value.reason.value
    return refused.value.reason


def test_minted_token_round_trips_with_every_claim() -> None:
    token = mint_token(SECRET, 42, "jobs:read jobs:write", ttl=3600, issuer="wp", jti="t-1")
    claims = verify_token(SECRET, token)
    assert claims.sub == 42 and claims.scopes == ("jobs:read", "jobs:write")
    assert claims.iss == "wp" and claims.jti == "t-1"
    assert time.time() + 3590 < claims.exp <= time.time() + 3600
    assert claims.allows("jobs:read") and not claims.allows("modules:write")
    assert "=" not in token and token.count(".") == 1


def test_minted_payload_is_compact_json_in_claim_order() -> None:
    token = mint_token(SECRET, 7, ["callback:write"], ttl=300, jti="job-1", now=1_000)
    payload = b64url_decode(token.split(".")[0]).decode()
    assert payload == (
        '{"iss":"sweatpants","sub":7,"scope":"callback:write","exp":1300,"jti":"job-1"}'
    )
    no_optional = mint_token(SECRET, 7, "a", issuer=None, now=0)
    assert json.loads(b64url_decode(no_optional.split(".")[0])) == {
        "sub": 7,
        "scope": "a",
        "exp": 300,
    }


@pytest.mark.parametrize("padded", [True, False])
def test_outside_tokens_verify_padded_and_unpadded(padded: bool) -> None:
    # A payload whose base64 needs padding, with spaces in the JSON.
    claims = {"iss": "wordpress", "sub": 12, "scope": "jobs:read", "exp": time.time() + 60}
    token = handmade(claims, padded=padded)
    assert token.endswith("=") == padded  # a 32-byte HMAC always needs one "="
    verified = verify_token(SECRET, token)
    assert verified.sub == 12 and verified.scopes == ("jobs:read",) and verified.iss == "wordpress"
    assert verify_token(SECRET, mint_token(SECRET, 3, "x", padded=True)).sub == 3


def test_padding_is_part_of_what_is_signed() -> None:
    # One of three lengths in a row needs padding; take it.
    tokens = [
        handmade({"sub": 1, "scope": "a", "exp": 2e9, "x": "y" * n}, padded=True) for n in (0, 1, 2)
    ]
    payload, signature = next(t for t in tokens if t.split(".")[0].endswith("=")).rsplit(".", 1)
    assert payload.endswith("=")
    # The HMAC covers the payload text as sent, so stripping its padding breaks the signature.
    assert reason_of(f"{payload.rstrip('=')}.{signature}") is Reason.INVALID_SIGNATURE


def test_split_on_the_last_dot() -> None:
    # A payload part may not contain a dot in base64url, but the split rule is the last one.
    token = handmade({"sub": 5, "scope": "a", "exp": time.time() + 60})
    assert reason_of("extra." + token) is Reason.MALFORMED_TOKEN


def test_expired_token() -> None:
    token = mint_token(SECRET, 42, "jobs:read", ttl=-1)
    assert reason_of(token) is Reason.TOKEN_EXPIRED
    fresh = mint_token(SECRET, 42, "jobs:read", ttl=10, now=1_000)
    assert verify_token(SECRET, fresh, now=1_009.9).sub == 42
    assert reason_of(fresh, now=1_010) is Reason.TOKEN_EXPIRED  # at exp itself, as before
    for exp in ('"soon"', "null", "Infinity", "true"):
        body = '{"sub": 1, "scope": "a", "exp": ' + exp + "}"
        assert reason_of(handmade(None, raw=body)) is Reason.TOKEN_EXPIRED, exp
    assert reason_of(handmade({"sub": 1, "scope": "a"})) is Reason.TOKEN_EXPIRED  # no exp


def test_wrong_secret_and_altered_token() -> None:
    token = mint_token(SECRET, 42, "jobs:read")
    assert reason_of(token, secret="another-secret") is Reason.INVALID_SIGNATURE
    _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":1,"scope":"*","exp":9999999999}').decode()
    assert reason_of(f"{forged.rstrip('=')}.{signature}") is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("sub", [0, -3, "abc", None, True, 1.5, "0"])
def test_missing_or_invalid_subject(sub: object) -> None:
    claims: dict[str, object] = {"scope": "jobs:read", "exp": time.time() + 60}
    if sub is not None:
        claims["sub"] = sub
    assert reason_of(handmade(claims)) is Reason.INVALID_SUBJECT


def test_sub_zero_can_be_minted_for_callbacks_but_never_verifies() -> None:
    assert reason_of(mint_token(SECRET, 0, "callback:write")) is Reason.INVALID_SUBJECT


def test_an_iss_or_jti_that_is_not_a_string_is_left_out() -> None:
    claims = verify_token(
        SECRET, handmade({"sub": 1, "scope": "a", "exp": 2e9, "iss": 5, "jti": []})
    )
    assert (claims.iss, claims.jti) == (None, None)


def test_quoted_numeric_subject_is_accepted() -> None:
    assert verify_token(SECRET, handmade({"sub": "42", "scope": "a", "exp": 2e9})).sub == 42


@pytest.mark.parametrize("scope", ["", "   ", None, ["jobs:read"], 5])
def test_token_has_no_scopes(scope: object) -> None:
    claims: dict[str, object] = {"sub": 3, "exp": time.time() + 60}
    if scope is not None:
        claims["scope"] = scope
    assert reason_of(handmade(claims)) is Reason.NO_SCOPES


@pytest.mark.parametrize(
    "token",
    ["", "nodot", ".sig", "payload.", "pay load.sig", "abc.de$f", "abc.d===", "é.abc", "abcde.f"],
)
def test_malformed_token(token: str) -> None:
    assert reason_of(token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "null",
        '{"sub": 1',
    ],
)
def test_malformed_payload(body: str) -> None:
    assert reason_of(handmade(None, raw=body)) is Reason.MALFORMED_PAYLOAD


def test_no_secret_means_invalid_credentials() -> None:
    assert reason_of(mint_token(SECRET, 1, "a"), secret="") is Reason.INVALID_CREDENTIALS


def test_scopes_star_and_missing_scope() -> None:
    claims = TokenClaims(sub=1, scopes=("*",), exp=0)
    assert claims.allows("anything:at-all")
    family = TokenClaims(sub=1, scopes=("schedules:*",), exp=0)
    assert family.allows("schedules:read") and family.allows("schedules:write")
    assert not family.allows("jobs:read")
    earlier = TokenClaims(sub=1, scopes=("read", "modules:admin", "callbacks:admin"), exp=0)
    assert all(
        earlier.allows(scope)
        for scope in ("modules:read", "modules:write", "callback:read", "callback:write")
    )
    assert not earlier.allows("jobs:read") and not TokenClaims(1, ("read",), 0).allows(
        "modules:write"
    )
    limited = TokenClaims(sub=1, scopes=("jobs:read",), exp=0)
    limited.require("jobs:read")
    with pytest.raises(MissingScope) as refused:
        limited.require("jobs:write")
    assert isinstance(refused.value, Forbidden) and refused.value.status == 403
    assert refused.value.detail == "token missing required scope: jobs:write"


def test_minting_refuses_what_no_verifier_could_use() -> None:
    with pytest.raises(ValueError):
        mint_token("", 1, "a")
    with pytest.raises(ValueError):
        mint_token(SECRET, -1, "a")


def test_reasons_are_the_documented_words() -> None:
    assert [reason.value for reason in Reason] == [
        "missing header",
        "not Bearer",
        "malformed token",
        "invalid signature",
        "malformed payload",
        "token expired",
        "missing or invalid subject",
        "token has no scopes",
        "invalid credentials",
    ]
