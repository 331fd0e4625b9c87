"""Realistic, consistent browser headers for `browser_mode` requests.

A profile is one browser family on one platform: its User-Agent, client hints, Accept and
Accept-Language all agree. The same session id always gets the same profile (a site sees one
browser per exit IP); without a session each request draws one at random. A geo code such as
`de` or `us-ny` picks a matching Accept-Language. Versions are a snapshot: refresh them with
the browsers of the day (CHROME_MAJOR etc.).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass

CHROME_MAJOR = 156
FIREFOX_MAJOR = 150
SAFARI_VERSION = "26.1"

_HTML_ACCEPT_CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
_HTML_ACCEPT_OTHER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Only encodings httpx can decode without optional packages.
ACCEPT_ENCODING = "gzip, deflate"

_LANGUAGES = {
    "us": "en-US,en;q=0.9",
    "gb": "en-GB,en;q=0.9",
    "uk": "en-GB,en;q=0.9",
    "ca": "en-CA,en;q=0.9,fr-CA;q=0.8",
    "au": "en-AU,en;q=0.9",
    "ie": "en-IE,en;q=0.9",
    "de": "de-DE,de;q=0.9,en;q=0.8",
    "at": "de-AT,de;q=0.9,en;q=0.8",
    "ch": "de-CH,de;q=0.9,fr;q=0.8,en;q=0.7",
    "fr": "fr-FR,fr;q=0.9,en;q=0.8",
    "be": "fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.7",
    "es": "es-ES,es;q=0.9,en;q=0.8",
    "mx": "es-MX,es;q=0.9,en;q=0.8",
    "it": "it-IT,it;q=0.9,en;q=0.8",
    "nl": "nl-NL,nl;q=0.9,en;q=0.8",
    "pt": "pt-PT,pt;q=0.9,en;q=0.8",
    "br": "pt-BR,pt;q=0.9,en;q=0.8",
    "pl": "pl-PL,pl;q=0.9,en;q=0.8",
    "se": "sv-SE,sv;q=0.9,en;q=0.8",
    "jp": "ja-JP,ja;q=0.9,en;q=0.8",
    "kr": "ko-KR,ko;q=0.9,en;q=0.8",
    "in": "en-IN,en;q=0.9,hi;q=0.8",
}


@dataclass(frozen=True)
class Profile:
    """One browser family on one platform; `headers` are sent in this order."""

    name: str
    headers: tuple[tuple[str, str], ...]


def _chrome(platform: str, ua_platform: str, brand: str = "Google Chrome") -> Profile:
    version = f"{CHROME_MAJOR}.0.0.0"
    ua = (
        f"Mozilla/5.0 ({ua_platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Safari/537.36"
    )
    if brand == "Microsoft Edge":
        ua += f" Edg/{version}"
    hints = f'"{brand}";v="{CHROME_MAJOR}", "Chromium";v="{CHROME_MAJOR}", "Not_A Brand";v="24"'
    return Profile(
        f"{brand} on {platform}",
        (
            ("sec-ch-ua", hints),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", f'"{platform}"'),
            ("upgrade-insecure-requests", "1"),
            ("user-agent", ua),
            ("accept", _HTML_ACCEPT_CHROME),
            ("sec-fetch-site", "none"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-user", "?1"),
            ("sec-fetch-dest", "document"),
            ("accept-encoding", ACCEPT_ENCODING),
            ("accept-language", "en-US,en;q=0.9"),
        ),
    )


def _firefox(platform: str, ua_platform: str) -> Profile:
    ua = (
        f"Mozilla/5.0 ({ua_platform}; rv:{FIREFOX_MAJOR}.0) Gecko/20100101 "
        f"Firefox/{FIREFOX_MAJOR}.0"
    )
    return Profile(
        f"Firefox on {platform}",
        (
            ("user-agent", ua),
            ("accept", _HTML_ACCEPT_OTHER),
            ("accept-language", "en-US,en;q=0.5"),
            ("accept-encoding", ACCEPT_ENCODING),
            ("upgrade-insecure-requests", "1"),
            ("sec-fetch-dest", "document"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-site", "none"),
            ("sec-fetch-user", "?1"),
        ),
    )


def _safari() -> Profile:
    ua = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{SAFARI_VERSION} Safari/605.1.15"
    )
    return Profile(
        "Safari on macOS",
        (
            ("accept", _HTML_ACCEPT_OTHER),
            ("sec-fetch-site", "none"),
            ("accept-encoding", ACCEPT_ENCODING),
            ("sec-fetch-mode", "navigate"),
            ("user-agent", ua),
            ("accept-language", "en-US,en;q=0.9"),
            ("sec-fetch-dest", "document"),
        ),
    )


PROFILES: tuple[Profile, ...] = (
    _chrome("Windows", "Windows NT 10.0; Win64; x64"),
    _chrome("macOS", "Macintosh; Intel Mac OS X 10_15_7"),
    _chrome("Linux", "X11; Linux x86_64"),
    _chrome("Windows", "Windows NT 10.0; Win64; x64", brand="Microsoft Edge"),
    _firefox("Windows", "Windows NT 10.0; Win64; x64"),
    _firefox("macOS", "Macintosh; Intel Mac OS X 10.15"),
    _safari(),
)


def accept_language(geo: str | None) -> str | None:
    """Accept-Language for a geo code (`de`, `us-ny`); None when the code is unknown."""
    if not geo:
        return None
    country = geo.strip().lower().split("-", 1)[0].split("_", 1)[0]
    return _LANGUAGES.get(country)


def locale_for(geo: str | None) -> str | None:
    """A BCP 47 locale (`de-DE`) for a geo code, for browser contexts."""
    language = accept_language(geo)
    return language.split(",", 1)[0] if language else None


def pick_profile(session_id: str | None) -> Profile:
    """The session's profile (stable across calls and processes), or a random one."""
    if not session_id:
        return random.choice(PROFILES)
    digest = hashlib.sha256(session_id.encode()).digest()
    return PROFILES[int.from_bytes(digest[:4], "big") % len(PROFILES)]


def browser_headers(
    extra: Mapping[str, str] | None,
    *,
    session_id: str | None = None,
    geo: str | None = None,
) -> dict[str, str]:
    """The profile's headers, Accept-Language from `geo`, then the caller's own on top."""
    headers = dict(pick_profile(session_id).headers)
    language = accept_language(geo)
    if language:
        headers["accept-language"] = language
    if extra:
        lowered = {key.lower(): key for key in headers}
        for key, value in extra.items():
            existing = lowered.get(key.lower())
            if existing is not None:
                del headers[existing]
            headers[key] = value
    return headers
