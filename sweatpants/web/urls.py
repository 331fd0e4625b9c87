"""URLs as they may be shown: credentials hidden."""

from __future__ import annotations


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for logs, errors and `config`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
