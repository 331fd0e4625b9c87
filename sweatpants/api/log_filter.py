"""Tokens never reach a log: a filter for the server's loggers that blanks them out.

The security guard takes `?token=` out of the query string before anything logs the request
(api/security.py), but at DEBUG the WebSocket library logs each handshake as it arrived,
request line and headers included, through uvicorn's logger. This filter rewrites such lines:
the value of a `token=` query parameter and of an `Authorization` header become `[redacted]`.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"']+", re.IGNORECASE)
_AUTHORIZATION = re.compile(r"(authorization\s*[:=]\s*)[^\r\n\"']+", re.IGNORECASE)
SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access", "websockets")


class TokenFilter(logging.Filter):
    """Rewrites a record whose message carries a token; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" not in message.lower() and "authorization" not in message.lower():
            return True
        cleaned = _AUTHORIZATION.sub(r"\1" + REDACTED, _QUERY_TOKEN.sub(r"\1" + REDACTED, message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(loggers: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """Put one TokenFilter on each of the server's loggers (once, however often called)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, TokenFilter) for existing in logger.filters):
            logger.addFilter(TokenFilter())
