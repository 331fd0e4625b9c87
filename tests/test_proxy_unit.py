"""Fast tests of the proxy pieces: choice of proxy, redaction, headers, bodies, errors."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest

from sweatpants.capabilities.chromium import launch_args
from sweatpants.capabilities.fetch import encode_body, validate_method, validate_url
from sweatpants.errors import InvalidInput, Unavailable
from sweatpants.web import binary, http
from sweatpants.web.headers import (
    PROFILES,
    Profile,
    browser_headers,
    locale_for,
    pick_profile,
)
from sweatpants.web.proxy import ProxyChoice, ProxyConfig

ROTATING = "http://acct:s3cret-pw@proxy.test:8000"
PATTERN = "http://acct-session-{session}-geo-{geo}:s3cret-pw@proxy.test:8000"


def test_no_proxy_is_direct_and_says_why() -> None:
    choice = ProxyConfig().choose("s1", "de")
    assert choice.mode == "direct" and choice.url == ""
    assert "no proxy configured" in choice.note
    assert choice.display == "direct"


def test_session_is_sticky_and_sessions_differ() -> None:
    config = ProxyConfig(ROTATING, PATTERN)
    first = config.choose("alpha", "us")
    assert first.mode == "sticky"
    assert first.url == config.choose("alpha", "us").url
    assert first.url == "http://acct-session-alpha-geo-us:s3cret-pw@proxy.test:8000"
    assert config.choose("beta", "us").url != first.url


def test_no_session_uses_rotating_url() -> None:
    config = ProxyConfig(ROTATING, PATTERN)
    assert config.choose().url == ROTATING
    assert config.choose().mode == "rotating"


def test_geo_without_session_uses_pattern_with_fresh_sessions() -> None:
    config = ProxyConfig(ROTATING, PATTERN)
    one, two = config.choose(None, "fr"), config.choose(None, "fr")
    assert one.mode == "rotating" and "-geo-fr:" in one.url
    assert one.url != two.url


def test_session_without_pattern_notes_it() -> None:
    choice = ProxyConfig(ROTATING).choose("alpha")
    assert choice.url == ROTATING and "session_id ignored" in choice.note


def test_session_is_percent_encoded_in_userinfo() -> None:
    choice = ProxyConfig(rotation_url="http://u-{session}:pw@h:1").choose("a@b:c/d")
    assert choice.url == "http://u-a%40b%3Ac%2Fd:pw@h:1"
    assert httpx.URL(choice.url).host == "h"


def test_display_and_scrub_hide_the_password() -> None:
    choice = ProxyConfig(ROTATING).choose()
    assert "s3cret" not in choice.display
    text = f"failed via {ROTATING} with acct:s3cret-pw@ and s3cret-pw alone"
    scrubbed = choice.scrub(text)
    assert "s3cret" not in scrubbed
    short = ProxyChoice("rotating", "http://u:pw@h:1")
    assert "u:pw@" not in short.scrub("boom http://u:pw@h:1 u:pw@h")


def test_describe_masks_credentials() -> None:
    described = ProxyConfig(ROTATING, PATTERN).describe()
    assert described["configured"] is True
    assert "s3cret" not in str(described)
    assert ProxyConfig().describe()["configured"] is False


def test_playwright_proxy_option() -> None:
    option = ProxyChoice("sticky", "http://u-1:p%40ss@127.0.0.1:3128").playwright_proxy()
    assert option == {
        "server": "http://127.0.0.1:3128",
        "bypass": "<-loopback>",
        "username": "u-1",
        "password": "p@ss",
    }
    assert ProxyChoice("direct").playwright_proxy() is None


def test_browser_headers_consistent_per_session() -> None:
    assert pick_profile("session-1") == pick_profile("session-1")
    names = {pick_profile(f"s{i}").name for i in range(200)}
    assert len(names) == len(PROFILES)
    headers = browser_headers({"User-Agent": "mine", "X-Extra": "1"}, session_id="s", geo="de-by")
    assert headers["User-Agent"] == "mine" and "user-agent" not in headers
    assert headers["accept-language"].startswith("de-DE")
    assert headers["X-Extra"] == "1"
    assert "br" not in headers["accept-encoding"]  # httpx cannot decode it here
    chrome = dict(pick_profile_named("Google Chrome on Windows").headers)
    assert "Windows" in chrome["user-agent"] and chrome["sec-ch-ua-platform"] == '"Windows"'


def pick_profile_named(name: str) -> Profile:
    return next(profile for profile in PROFILES if profile.name == name)


def test_locale_for_geo() -> None:
    assert locale_for("us-ny") == "en-US"
    assert locale_for("newyork") is None
    assert locale_for(None) is None


@pytest.mark.parametrize(
    ("content", "content_type", "encoding"),
    [
        (b"<html>hi</html>", "text/html; charset=utf-8", "text"),
        ("café".encode("latin-1"), "text/plain; charset=iso-8859-1", "text"),
        (b'{"a": 1}', "application/json", "text"),
        (b"plain", None, "text"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png", "base64"),
        (b"ascii but declared binary", "application/octet-stream", "base64"),
        (b"\xff\xfe\x00bad utf8", "text/plain", "base64"),
    ],
)
def test_encode_body(content: bytes, content_type: str | None, encoding: str) -> None:
    import base64

    text, used = encode_body(content, content_type)
    assert used == encoding
    if used == "base64":
        assert base64.b64decode(text) == content


@pytest.mark.parametrize("url", ["ftp://x/y", "file:///etc/passwd", "127.0.0.1:80", "http://", ""])
def test_validate_url_names_the_field(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_url(url)
    assert caught.value.field == "url" and caught.value.status == 422


def test_validate_method() -> None:
    assert validate_method("get") == "GET"
    with pytest.raises(InvalidInput) as caught:
        validate_method("CONNECT")
    assert caught.value.field == "method"


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError(str(inner)) from inner
    except httpx.ConnectError as exc:
        return exc


def test_classify_failures() -> None:
    direct = ProxyChoice("direct")
    proxied = ProxyChoice("rotating", ROTATING)
    gai = socket.gaierror(-2, "Name or service not known")
    assert http.classify(_connect_error(gai), direct)[0] == "dns"
    refused = ConnectionRefusedError(111, "Connection refused")
    assert http.classify(_connect_error(refused), direct)[0] == "refused"
    tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert http.classify(_connect_error(tls), proxied)[0] == "tls"
    assert http.classify(httpx.ReadTimeout("slow"), direct)[0] == "timeout"
    code, detail = http.classify(_connect_error(refused), proxied)
    assert code == "proxy" and "s3cret" not in detail
    code, detail = http.classify(httpx.ProxyError(f"407 from {ROTATING}"), proxied)
    assert code == "proxy" and "s3cret" not in detail


def test_launch_flags() -> None:
    args = launch_args("/usr/bin/chromium", Path("/tmp/profile"))
    joined = " ".join(args)
    for flag in (
        "--disable-background-networking",
        "--disable-component-update",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--user-data-dir=/tmp/profile",
    ):
        assert flag in args, joined
    import os

    assert ("--no-sandbox" in args) == (os.geteuid() == 0)


def test_browser_binary_setting_must_exist(tmp_path: Path) -> None:
    with pytest.raises(Unavailable) as caught:
        binary.find_browser(str(tmp_path / "nope"))
    assert "SWEATPANTS_BROWSER_PATH" in caught.value.detail
    assert "apt-get install -y chromium" in caught.value.detail


def test_browser_binary_none_found_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binary, "SYSTEM_NAMES", ())
    monkeypatch.setattr(binary, "SYSTEM_PATHS", ())
    monkeypatch.setattr(binary, "playwright_chromium", lambda: None)
    with pytest.raises(Unavailable) as caught:
        binary.find_browser("")
    assert "apt-get install -y chromium" in caught.value.detail
    assert "playwright install chromium" in caught.value.detail


def test_browser_binary_system_chromium() -> None:
    path, source = binary.find_browser("")
    assert Path(path).exists() and source in {"playwright", "system"}
