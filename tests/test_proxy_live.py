"""The proxy capability with real parts: tinyproxy, a local site, and a live daemon."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants.capabilities.fetch import FetchRequest, fetch
from sweatpants.sdk import runtime
from sweatpants.sdk.proxy import proxied_request
from sweatpants.web.proxy import ProxyConfig
from tests.support.daemon import RunningDaemon, free_port
from tests.support.tinyproxy import BINARY, TITLE, AuthRecorder, PageServer, Tinyproxy

pytestmark = [pytest.mark.proxy]

SECRET = "hunter2-very-secret"
USERS = {"user-rot": SECRET, "user-alpha": SECRET, "user-beta": SECRET}


@pytest.fixture
def site() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path / "tinyproxy", users=USERS).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def recorder(tinyproxy: Tinyproxy) -> Iterator[AuthRecorder]:
    front = AuthRecorder(tinyproxy.port)
    yield front
    front.stop()


def proxy_env(recorder: AuthRecorder) -> dict[str, str]:
    return {
        "SWEATPANTS_PROXY_URL": f"http://user-rot:{SECRET}@127.0.0.1:{recorder.port}",
        "SWEATPANTS_PROXY_ROTATION_URL": f"http://user-{{session}}:{SECRET}@127.0.0.1:{recorder.port}",
    }


def in_job(services: runtime.Services, coroutine_factory: Any) -> Any:
    async def main() -> Any:
        runtime.activate(runtime.JobRuntime("job-1", "mod", services))
        return await coroutine_factory()

    return asyncio.run(main())


def test_proxied_request_goes_through_tinyproxy_with_sticky_credentials(
    site: PageServer, tinyproxy: Tinyproxy, recorder: AuthRecorder
) -> None:
    env = proxy_env(recorder)
    services = runtime.Services(
        proxy_url=env["SWEATPANTS_PROXY_URL"],
        proxy_rotation_url=env["SWEATPANTS_PROXY_ROTATION_URL"],
    )
    plan = ["alpha", "beta", "alpha", None, "alpha", "beta"]

    async def run() -> list[httpx.Response]:
        return [
            await proxied_request("GET", f"{site.url}/?n={i}", session_id=session)
            for i, session in enumerate(plan)
        ]

    responses = in_job(services, run)
    assert [r.status_code for r in responses] == [200] * len(plan)
    assert all(TITLE in r.text for r in responses)
    modes = [r.extensions["sweatpants_proxy"] for r in responses]
    assert modes == ["sticky", "sticky", "sticky", "rotating", "sticky", "sticky"]
    # Same session → same upstream credentials; no session → the rotating account.
    expected = ["user-alpha", "user-beta", "user-alpha", "user-rot", "user-alpha", "user-beta"]
    assert recorder.users() == expected
    logged = tinyproxy.requests()
    for i in range(len(plan)):
        assert f"GET {site.url}/?n={i} HTTP/1.1" in logged, tinyproxy.log()


def test_proxied_request_browser_mode_headers_are_consistent(
    site: PageServer, tinyproxy: Tinyproxy, recorder: AuthRecorder
) -> None:
    env = proxy_env(recorder)
    services = runtime.Services(proxy_rotation_url=env["SWEATPANTS_PROXY_ROTATION_URL"])

    async def run() -> list[dict[str, str]]:
        seen = []
        for _ in range(3):
            response = await proxied_request(
                "GET", f"{site.url}/echo", browser_mode=True, session_id="alpha", geo="de"
            )
            seen.append({k.lower(): v for k, v in response.json()["headers"].items()})
        return seen

    seen = in_job(services, run)
    agents = {headers["user-agent"] for headers in seen}
    assert len(agents) == 1 and agents.pop().startswith("Mozilla/5.0")
    assert all(h["accept-language"].startswith("de-DE") for h in seen)


def test_proxied_request_without_proxy_goes_direct_and_says_so(
    site: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> httpx.Response:
        return await proxied_request("GET", site.url + "/")

    with caplog.at_level(logging.WARNING, logger="sweatpants.proxy"):
        response = in_job(runtime.Services(), run)
    assert response.status_code == 200
    assert response.extensions["sweatpants_proxy"] == "direct"
    assert "no proxy configured" in caplog.text and "direct" in caplog.text


def test_proxied_request_error_hides_credentials() -> None:
    dead = free_port()
    services = runtime.Services(proxy_url=f"http://user-rot:{SECRET}@127.0.0.1:{dead}")

    async def run() -> None:
        await proxied_request("GET", "http://127.0.0.1:9/", timeout=5)

    with pytest.raises(httpx.ConnectError) as caught:
        in_job(services, run)
    assert SECRET not in str(caught.value)


def test_fetch_through_unreachable_proxy_is_a_proxy_error() -> None:
    url = f"http://user-rot:{SECRET}@127.0.0.1:{free_port()}"
    answer = asyncio.run(fetch(ProxyConfig(url), FetchRequest(url="http://127.0.0.1:9/")))
    assert answer["success"] is False and answer["error"] == "proxy"
    assert SECRET not in json.dumps(answer)


# -- /proxy-fetch on a live daemon -------------------------------------------------------


@pytest.fixture
def proxied_daemon(make_daemon: Any, recorder: AuthRecorder, tinyproxy: Tinyproxy) -> RunningDaemon:
    daemon: RunningDaemon = make_daemon(env=proxy_env(recorder), token="tok-proxy")
    return daemon


def post_fetch(daemon: RunningDaemon, **body: Any) -> dict[str, Any]:
    response = daemon.client().post("/proxy-fetch", json=body)
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.live
def test_proxy_fetch_returns_the_page_through_tinyproxy(
    proxied_daemon: RunningDaemon, site: PageServer, tinyproxy: Tinyproxy, recorder: AuthRecorder
) -> None:
    answer = post_fetch(proxied_daemon, url=site.url + "/page")
    assert answer["success"] is True
    assert answer["status_code"] == 200
    assert answer["encoding"] == "text" and TITLE in answer["content"]
    assert answer["headers"]["x-test-page"] == "yes"
    assert answer["headers"]["content-type"].startswith("text/html")
    assert answer["proxy"] == "rotating" and answer["error"] is None
    assert f"GET {site.url}/page HTTP/1.1" in tinyproxy.requests()

    for _ in range(2):
        assert post_fetch(proxied_daemon, url=site.url + "/s", session_id="beta")["success"]
    assert recorder.users() == ["user-rot", "user-beta", "user-beta"]

    binary = post_fetch(proxied_daemon, url=site.url + "/bin")
    assert binary["encoding"] == "base64"
    assert base64.b64decode(binary["content"]) == BINARY

    posted = post_fetch(
        proxied_daemon, method="POST", url=site.url + "/form", body="a=1&b=2", browser_mode=True
    )
    assert posted["status_code"] == 201
    echoed = json.loads(posted["content"])
    assert base64.b64decode(echoed["body"]) == b"a=1&b=2"
    assert "Mozilla/5.0" in echoed["headers"]["user-agent"]

    status = proxied_daemon.client().get("/status").json()
    assert status["proxy"]["configured"] is True
    assert SECRET not in json.dumps(status)
    capabilities = proxied_daemon.client().get("/capabilities").json()
    assert capabilities["proxy"]["sticky_sessions"] is True
    assert SECRET not in proxied_daemon.log()


@pytest.mark.live
def test_proxy_fetch_failures_through_the_proxy(
    proxied_daemon: RunningDaemon, site: PageServer
) -> None:
    slow = post_fetch(proxied_daemon, url=site.url + "/slow", timeout=0.5)
    assert slow["success"] is False and slow["error"] == "timeout", slow
    tls = post_fetch(proxied_daemon, url=f"https://127.0.0.1:{site.port}/")
    assert tls["success"] is False and tls["error"] == "tls", tls
    for answer in (slow, tls):
        assert answer["content"] is None and answer["detail"]


@pytest.mark.live
def test_proxy_fetch_direct_and_validation(make_daemon: Any, site: PageServer) -> None:
    daemon: RunningDaemon = make_daemon()
    page = post_fetch(daemon, url=site.url + "/")
    assert page["success"] is True and page["proxy"] == "direct"
    refused = post_fetch(daemon, url=f"http://127.0.0.1:{free_port()}/")
    assert refused["success"] is False and refused["error"] == "refused", refused
    latin = post_fetch(daemon, url=site.url + "/latin1")
    assert latin["content"] == "café" and latin["encoding"] == "text"

    for body, field in (
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": site.url, "method": "BREW"}, "method"),
        ({"url": site.url, "timeout": 0}, "timeout"),
    ):
        response = daemon.client().post("/proxy-fetch", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    missing = daemon.client().post("/proxy-fetch", json={})
    assert missing.status_code == 422 and "url" in json.dumps(missing.json())
    assert daemon.client().get("/status").json()["proxy"]["configured"] is False
