"""`/proxy-fetch`: one HTTP request through the configured proxy, reported as plain data.

The answer always has the seed contract's `success, content, status_code, headers`, plus
`encoding` (`text` or `base64`: binary bodies round-trip intact), `error` (a failure code from
`sweatpants.web.http`) and `detail` on failure, and `proxy` (`direct`, `rotating`,
`sticky`) so nobody mistakes a direct request for a proxied one.
"""

from __future__ import annotations

import base64
import codecs
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sweatpants.errors import InvalidInput
from sweatpants.web import http
from sweatpants.web.headers import browser_headers
from sweatpants.web.proxy import ProxyConfig

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_TIMEOUT = 600.0
MAX_BODY_BYTES = 32 * 1024 * 1024
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/ld+json",
    "application/xml",
    "application/xhtml+xml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/x-www-form-urlencoded",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
)
_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/octet-stream")


@dataclass(frozen=True)
class FetchRequest:
    """A validated `/proxy-fetch` request body."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    json_body: Any = None
    browser_mode: bool = False
    timeout: float = 60.0
    session_id: str | None = None
    geo: str | None = None


def validate_url(url: str, field_name: str = "url") -> str:
    """An absolute http(s) URL with a host, else `InvalidInput` naming the field."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{field_name} is not a valid URL ({exc})", field=field_name) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidInput(
            f"{field_name} must start with http:// or https://, got {text[:80]!r}", field=field_name
        )
    if not parts.hostname:
        raise InvalidInput(f"{field_name} has no host: {text[:80]!r}", field=field_name)
    del port
    return text


def validate_method(method: str) -> str:
    upper = (method or "").strip().upper()
    if upper not in METHODS:
        raise InvalidInput(
            f"method must be one of {', '.join(sorted(METHODS))}; got {method!r}", field="method"
        )
    return upper


def validate_timeout(timeout: float) -> float:
    if not 0 < timeout <= MAX_TIMEOUT:
        raise InvalidInput(
            f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds", field="timeout"
        )
    return float(timeout)


def encode_body(content: bytes, content_type: str | None) -> tuple[str, str]:
    """(content, encoding): text when the body is declared or looks like text, else base64."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    charset = _charset(content_type) or "utf-8"
    if not media.startswith(_BINARY_TYPES) and (
        media.startswith(_TEXT_TYPES) or media.endswith(("+json", "+xml")) or not media
    ):
        try:
            return content.decode(charset), "text"
        except (UnicodeDecodeError, LookupError):
            pass
    return base64.b64encode(content).decode("ascii"), "base64"


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip().strip('"')
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


def _failure(code: str, detail: str, proxy_mode: str, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "success": False,
        "content": None,
        "status_code": None,
        "headers": {},
        "encoding": None,
        "error": code,
        "detail": detail,
        "proxy": proxy_mode,
    }
    answer.update(extra)
    return answer


async def fetch(config: ProxyConfig, request: FetchRequest) -> dict[str, Any]:
    """Perform `request` and describe the outcome; network failures are answers, not raises."""
    import httpx

    choice = config.choose(request.session_id, request.geo)
    headers = dict(request.headers)
    if request.browser_mode:
        headers = browser_headers(headers, session_id=request.session_id, geo=request.geo)
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"headers": headers}
    if request.body is not None:
        kwargs["content"] = request.body
    elif request.json_body is not None:
        kwargs["json"] = request.json_body
    try:
        async with (
            http.make_client(choice, request.timeout) as client,
            client.stream(request.method, request.url, **kwargs) as response,
        ):
            if response.status_code == 407 and choice.url:
                return _failure(
                    http.PROXY,
                    f"the proxy {choice.display} rejected its credentials (407)",
                    choice.mode,
                    status_code=407,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return _failure(
                        http.TOO_LARGE,
                        f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB",
                        choice.mode,
                        status_code=response.status_code,
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        code, detail = http.classify(exc, choice)
        return _failure(code, detail, choice.mode)
    content, encoding = encode_body(b"".join(chunks), response.headers.get("content-type"))
    return {
        "success": True,
        "content": content,
        "status_code": response.status_code,
        "headers": dict(response.headers),
        "encoding": encoding,
        "error": None,
        "proxy": choice.mode,
        "url": str(response.url),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
