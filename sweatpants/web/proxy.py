"""Which proxy a request goes through: rotating, sticky per session, or direct.

`SWEATPANTS_PROXY_URL` is the rotating proxy (a new exit per request, as the provider does it).
`SWEATPANTS_PROXY_ROTATION_URL` is a pattern with `{session}` (and optionally `{geo}`) that
a provider turns into a sticky exit: the same session id always gives the same URL, hence the
same credentials and the same exit. No proxy configured means direct, and the choice says so.
Credentials never leave this module unredacted except as the URL handed to the HTTP client.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from sweatpants.web.urls import redact_url

Mode = Literal["direct", "rotating", "sticky"]


@dataclass(frozen=True)
class ProxyChoice:
    """The proxy for one request (or one browser context)."""

    mode: Mode
    url: str = ""  # secret: hand only to the HTTP client or browser
    session: str | None = None
    note: str = ""  # why the choice differs from what the caller asked for, if it does

    @property
    def display(self) -> str:
        """The URL with the password masked, safe for logs, errors and responses."""
        return redact_url(self.url) if self.url else "direct"

    def scrub(self, text: str) -> str:
        """`text` with every form of this proxy's credentials replaced by the redacted URL."""
        return scrub(text, self.url)

    def playwright_proxy(self) -> dict[str, str] | None:
        """Playwright's `proxy=` option; loopback goes through the proxy too, like httpx."""
        if not self.url:
            return None
        parts = urlsplit(self.url)
        server = f"{parts.scheme}://{parts.hostname}"
        if parts.port:
            server += f":{parts.port}"
        option = {"server": server, "bypass": "<-loopback>"}
        if parts.username:
            option["username"] = unquote(parts.username)
            option["password"] = unquote(parts.password or "")
        return option


@dataclass(frozen=True)
class ProxyConfig:
    """The two proxy settings; build it from `Settings` (daemon) or `Services` (job)."""

    proxy_url: str = ""
    rotation_url: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.proxy_url or self.rotation_url)

    def describe(self) -> dict[str, object]:
        """State for `/status` and the dashboard, credentials masked."""
        return {
            "configured": self.configured,
            "url": redact_url(self.proxy_url) if self.proxy_url else None,
            "rotation_url": redact_url(self.rotation_url) if self.rotation_url else None,
            "sticky_sessions": bool(self.rotation_url),
            "geo": "{geo}" in self.rotation_url,
        }

    def choose(self, session_id: str | None = None, geo: str | None = None) -> ProxyChoice:
        """The proxy for a request with this session and geo (see the module docstring)."""
        if not self.configured:
            return ProxyChoice("direct", note="no proxy configured (SWEATPANTS_PROXY_URL unset)")
        if session_id and self.rotation_url:
            return ProxyChoice("sticky", self._expand(session_id, geo), session=session_id)
        if geo and "{geo}" in self.rotation_url:
            # Geo-targeting needs the pattern; a fresh session keeps it rotating.
            return ProxyChoice("rotating", self._expand(_fresh_session(), geo))
        note = ""
        if session_id:
            note = "session_id ignored: SWEATPANTS_PROXY_ROTATION_URL is not set"
        elif geo:
            note = "geo ignored: SWEATPANTS_PROXY_ROTATION_URL has no {geo}"
        if self.proxy_url:
            return ProxyChoice("rotating", self.proxy_url, note=note)
        return ProxyChoice("rotating", self._expand(_fresh_session(), geo), note=note)

    def _expand(self, session: str, geo: str | None) -> str:
        return self.rotation_url.replace("{session}", quote(session, safe="")).replace(
            "{geo}", quote(geo or "", safe="")
        )


def _fresh_session() -> str:
    return secrets.token_hex(8)


def scrub(text: str, url: str) -> str:
    """Replace `url`, its user:password pair and its password (raw or percent-encoded)."""
    if not url or not text:
        return text
    redacted = redact_url(url)
    text = text.replace(url, redacted)
    parts = urlsplit(url)
    password = parts.password
    if not password:
        return text
    userinfo = url.split("://", 1)[-1].split("@", 1)[0]
    text = text.replace(userinfo + "@", redacted.split("://", 1)[-1].split("@", 1)[0] + "@")
    for form in {password, unquote(password)}:
        if len(form) >= 3:
            text = text.replace(form, "***")
    return text
