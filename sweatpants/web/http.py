"""The HTTP side shared by `proxied_request` (job process) and `/proxy-fetch` (daemon).

httpx is imported inside functions so that importing the SDK stays cheap. The TLS context is
built once per process and per `verify` value (building one costs ~40 ms; a client reusing it
costs ~1 ms), which is why `_ssl_context` is cached.
"""

from __future__ import annotations

import errno
import functools
from typing import TYPE_CHECKING, Any

from sweatpants.web.proxy import ProxyChoice

if TYPE_CHECKING:
    import ssl

    import httpx

# Failure codes, documented in docs/capabilities.md.
REFUSED = "refused"
DNS = "dns"
TIMEOUT = "timeout"
TLS = "tls"
PROXY = "proxy"
CONNECTION = "connection"
REDIRECTS = "redirects"
TOO_LARGE = "too_large"


@functools.lru_cache(maxsize=4)
def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    import ssl

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def make_client(
    choice: ProxyChoice, timeout: float, *, verify: bool | str = True
) -> httpx.AsyncClient:
    """A one-shot client for `choice`: redirects followed, environment proxies ignored."""
    import httpx

    return httpx.AsyncClient(
        proxy=choice.url or None,
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        trust_env=False,
        verify=_ssl_context(verify),
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def classify(exc: Exception, choice: ProxyChoice) -> tuple[str, str]:
    """(code, sentence) for a failed request; the sentence never holds proxy credentials."""
    import socket
    import ssl

    import httpx

    text = choice.scrub(str(exc) or type(exc).__name__)
    chain = _causes(exc)
    lowered = " ".join(str(item) for item in chain).lower()
    via = f" via proxy {choice.display}" if choice.url else ""
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT, f"timed out ({type(exc).__name__}){via}: {text}"
    if isinstance(exc, httpx.ProxyError):
        return PROXY, f"the proxy {choice.display} refused the request: {text}"
    if isinstance(exc, httpx.TooManyRedirects):
        return REDIRECTS, f"too many redirects: {text}"
    if any(isinstance(item, ssl.SSLError) for item in chain) or "[ssl" in lowered:
        return TLS, f"TLS handshake failed: {text}"
    if isinstance(exc, httpx.ConnectError):
        if choice.url:
            return PROXY, f"could not connect to the proxy {choice.display}: {text}"
        if any(isinstance(item, socket.gaierror) for item in chain) or _is_dns(lowered):
            return DNS, f"the host name could not be resolved: {text}"
        if any(isinstance(item, ConnectionRefusedError) for item in chain) or _is_refused(lowered):
            return REFUSED, f"connection refused: {text}"
        return CONNECTION, f"could not connect: {text}"
    return CONNECTION, f"the connection failed ({type(exc).__name__}){via}: {text}"


def _is_dns(text: str) -> bool:
    return any(
        marker in text
        for marker in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "no address associated",
            "getaddrinfo failed",
            "[errno -2]",
            "[errno -3]",
            "[errno -5]",
        )
    )


def _is_refused(text: str) -> bool:
    return "connection refused" in text or f"[errno {errno.ECONNREFUSED}]" in text


def annotate(response: Any, choice: ProxyChoice) -> None:
    """Mark a response with how it travelled (`response.extensions["sweatpants_proxy"]`)."""
    response.extensions["sweatpants_proxy"] = choice.mode
    response.extensions["sweatpants_proxy_url"] = choice.display
