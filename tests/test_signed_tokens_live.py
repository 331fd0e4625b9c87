"""Signed user tokens on a real daemon: REST and WebSocket, the 401 reasons, 403 per scope.

One daemon for the file, with a master token and a signed-token secret, logging at DEBUG
(uvicorn's access log on) so the test can show that no token reaches the log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sweatpants.sdk.callback import sign_callback_token
from sweatpants.tokens import mint_token, verify_token
from tests.support.daemon import RunningDaemon, wait_for

pytestmark = pytest.mark.live

MASTER = "master-token-for-signed-tests"
SECRET = "issuer-shared-secret"
REALM = 'Bearer realm="sweatpants"'


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = RunningDaemon(
        tmp_path_factory.mktemp("signed") / "data",
        token=MASTER,
        env={"SWEATPANTS_API_SIGNED_TOKEN_SECRET": SECRET, "SWEATPANTS_LOG_LEVEL": "DEBUG"},
    )
    running.start()
    yield running
    running.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def anonymous(daemon: RunningDaemon) -> httpx.Client:
    return httpx.Client(base_url=daemon.url, timeout=30)


def outside_token(claims: dict[str, Any], secret: str = SECRET, *, padded: bool) -> str:
    """Built the way another issuer (a PHP plugin) builds one: JSON with spaces, its own code."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    payload = payload if padded else payload.rstrip("=")
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).decode()
    return f"{payload}.{signature if padded else signature.rstrip('=')}"


def receiver_verifies(token: str, secret: str) -> dict[str, Any]:
    """What a receiver of the earlier engine's callbacks runs (its own few lines, not ours)."""
    payload, signature = token.rsplit(".", 1)
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert hmac.compare_digest(expected, given)
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    assert claims["exp"] > time.time()
    return claims


def refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == reason
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == REALM


def test_a_token_with_the_right_scope_works_and_others_get_403(daemon: RunningDaemon) -> None:
    reader = mint_token(SECRET, 42, "jobs:read modules:read", ttl=600, issuer="wp")
    with anonymous(daemon) as client:
        assert client.get("/jobs", headers=bearer(reader)).status_code == 200
        assert client.get("/modules", headers=bearer(reader)).status_code == 200
        assert client.get("/status", headers=bearer(reader)).status_code == 200  # any token
        denied = client.post("/jobs", json={"module_id": "hello"}, headers=bearer(reader))
        assert denied.status_code == 403
        assert denied.json()["detail"] == "token missing required scope: jobs:write"
        assert denied.json()["error"] == "missing_scope"
        reload = client.post("/modules/reload", headers=bearer(reader))
        assert reload.json()["detail"] == "token missing required scope: modules:write"
        proxy = client.post(
            "/proxy-fetch", json={"url": "http://127.0.0.1:1/"}, headers=bearer(reader)
        )
        assert proxy.json()["detail"] == "token missing required scope: proxy:fetch"
        lease = client.get("/browser/lease", headers=bearer(reader))
        assert lease.json()["detail"] == "token missing required scope: *"
        everything = mint_token(SECRET, 42, "*", ttl=600)
        assert client.post("/modules/reload", headers=bearer(everything)).status_code == 200
        family = mint_token(SECRET, 42, "modules:*", ttl=600)
        assert client.post("/modules/reload", headers=bearer(family)).status_code == 200
        assert client.get("/jobs", headers=bearer(MASTER)).status_code == 200  # the master token


def test_jobs_record_the_subject_that_created_them(daemon: RunningDaemon) -> None:
    writer = mint_token(SECRET, 77, "jobs:write jobs:read", ttl=600)
    with anonymous(daemon) as client:
        made = client.post(
            "/jobs", json={"module_id": "hello", "inputs": {"name": "x"}}, headers=bearer(writer)
        )
        assert made.status_code == 200, made.text
        job = client.get(f"/jobs/{made.json()['id']}", headers=bearer(writer)).json()
        assert job["created_by"] == 77
        other = mint_token(SECRET, 78, "jobs:*", ttl=600)
        again = client.post(f"/jobs/{job['id']}/rerun", headers=bearer(other))
        assert again.status_code == 200, again.text
        rerun = client.get(f"/jobs/{again.json()['id']}", headers=bearer(other)).json()
        assert rerun["created_by"] == 78  # who asked for the rerun
        by_master = client.post("/jobs", json={"module_id": "hello"}, headers=bearer(MASTER))
        assert (
            client.get(f"/jobs/{by_master.json()['id']}", headers=bearer(MASTER)).json()[
                "created_by"
            ]
            is None
        )


@pytest.mark.parametrize("padded", [True, False])
def test_outside_tokens_padded_and_unpadded(daemon: RunningDaemon, padded: bool) -> None:
    claims = {"iss": "wordpress", "sub": 9, "scope": "jobs:read", "exp": int(time.time()) + 60}
    token = outside_token(claims, padded=padded)
    assert ("=" in token) == padded
    with anonymous(daemon) as client:
        assert client.get("/jobs", headers=bearer(token)).status_code == 200


def test_each_refusal_says_its_reason(daemon: RunningDaemon) -> None:
    now = int(time.time())
    cases = {
        "missing header": {},
        "not Bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed token": bearer("abc.d$f"),
        "invalid signature": bearer(mint_token("another-secret", 42, "jobs:read")),
        "malformed payload": bearer(outside_token([1, 2], padded=False)),  # type: ignore[arg-type]
        "token expired": bearer(mint_token(SECRET, 42, "jobs:read", ttl=-5)),
        "missing or invalid subject": bearer(mint_token(SECRET, 0, "jobs:read")),
        "token has no scopes": bearer(outside_token({"sub": 4, "exp": now + 60}, padded=False)),
    }
    with anonymous(daemon) as client:
        for reason, headers in cases.items():
            refused(client.get("/jobs", headers=headers), reason)
        empty_scope = outside_token({"sub": 4, "scope": " ", "exp": now + 60}, padded=True)
        refused(client.get("/jobs", headers=bearer(empty_scope)), "token has no scopes")
        # With a secret, a token that is not the master one is checked as a signed token
        # (`invalid credentials` is for a daemon without a secret: tests/test_security.py).
        refused(client.get("/jobs", headers=bearer("not-the-master-token")), "malformed token")


def test_the_earlier_engines_scope_names_work(daemon: RunningDaemon) -> None:
    with anonymous(daemon) as client:
        read = bearer(mint_token(SECRET, 3, "read", ttl=600))
        assert client.get("/modules", headers=read).status_code == 200
        assert client.post("/modules/reload", headers=read).status_code == 403
        admin = bearer(mint_token(SECRET, 3, "modules:admin", ttl=600))
        assert client.post("/modules/reload", headers=admin).status_code == 200
        inbox = bearer(mint_token(SECRET, 3, "callbacks:admin", ttl=600))
        assert client.post("/callbacks", json={}, headers=inbox).status_code == 200
        assert client.get("/callbacks", headers=inbox).status_code == 200
        proxy = bearer(mint_token(SECRET, 3, "proxy:fetch", ttl=600))
        fetched = client.post("/proxy-fetch", json={"url": "http://127.0.0.1:1/"}, headers=proxy)
        assert fetched.status_code == 200 and fetched.json()["success"] is False


def test_websockets_take_the_same_tokens(daemon: RunningDaemon) -> None:
    reader = mint_token(SECRET, 42, "jobs:read", ttl=600)
    with connect(daemon.ws_url(f"/events?token={reader}")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    with connect(daemon.ws_url("/events"), additional_headers=bearer(reader)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    cases = [
        (mint_token(SECRET, 42, "modules:read", ttl=600), 403, "token missing required scope"),
        (mint_token(SECRET, 42, "jobs:read", ttl=-5), 401, "token expired"),
        (mint_token("wrong-secret", 42, "jobs:read"), 401, "invalid signature"),
        (mint_token(SECRET, 0, "jobs:read"), 401, "missing or invalid subject"),
    ]
    for token, status, reason in cases:
        with pytest.raises(InvalidStatus) as refusal:
            connect(daemon.ws_url(f"/events?token={token}"))
        response = refusal.value.response
        assert response.status_code == status
        assert reason in response.body.decode()
        if status == 401:
            assert response.headers["WWW-Authenticate"] == REALM


def test_sdk_tokens_and_ours_verify_both_ways(daemon: RunningDaemon) -> None:
    sdk_token = sign_callback_token(SECRET, issuer="sweatpants", user_id=5, job_id="job-1")
    # The daemon's verifier takes what the SDK signs: a callback token may POST /callbacks.
    with anonymous(daemon) as client:
        posted = client.post("/callbacks", json={"callback_id": "x"}, headers=bearer(sdk_token))
        assert posted.status_code == 200, posted.text
        listing = client.get("/callbacks", headers=bearer(sdk_token))
        assert listing.json()["detail"] == "token missing required scope: callback:read"
    # And a receiver's own verifier takes what our minting makes, from the SDK or the daemon side.
    assert receiver_verifies(sdk_token, SECRET) == {
        "iss": "sweatpants",
        "sub": 5,
        "scope": "callback:write",
        "exp": receiver_verifies(sdk_token, SECRET)["exp"],
        "jti": "job-1",
    }
    assert receiver_verifies(mint_token(SECRET, 8, "jobs:read"), SECRET)["sub"] == 8


def test_no_token_reaches_the_log(daemon: RunningDaemon) -> None:
    token = mint_token(SECRET, 42, "jobs:read", ttl=600)
    with anonymous(daemon) as client:
        assert client.get(f"/jobs?token={token}&limit=3").status_code == 200
        refused(client.get(f"/jobs?token={token}x&limit=3"), "invalid signature")
    with connect(daemon.ws_url(f"/events?token={token}")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    wait_for(lambda: "GET /jobs?limit=3" in daemon.log(), 10, what="the access log line")
    log = daemon.log_path.read_text(errors="replace")
    assert token.split(".")[1] not in log and token.split(".")[0] not in log
    assert MASTER not in log


def test_cli_minted_token_works(daemon: RunningDaemon) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env["SWEATPANTS_API_SIGNED_TOKEN_SECRET"] = SECRET
    command = [sys.executable, "-m", "sweatpants", "token", "mint", "--sub", "42"]
    minted = subprocess.run(
        [*command, "--scope", "jobs:read jobs:write", "--ttl", "1h"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert verify_token(SECRET, token).scopes == ("jobs:read", "jobs:write")
    with anonymous(daemon) as client:
        assert client.get("/jobs", headers=bearer(token)).status_code == 200
    as_json = subprocess.run(
        [*command, "--scope", "*", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    claims = json.loads(as_json.stdout)
    assert verify_token(SECRET, claims["token"]).sub == 42 and claims["scope"] == "*"
    without = subprocess.run(
        [*command, "--scope", "jobs:read"],
        env={k: v for k, v in env.items() if k != "SWEATPANTS_API_SIGNED_TOKEN_SECRET"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert without.returncode == 1
    assert "SWEATPANTS_API_SIGNED_TOKEN_SECRET is not set" in without.stderr
    zero = subprocess.run(
        [*command[:-1], "0", "--scope", "jobs:read"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert zero.returncode == 2 and "--sub" in zero.stderr
