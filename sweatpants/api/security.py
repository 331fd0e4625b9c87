"""Guards for a daemon that any web page on the machine can try to reach.

Pure ASGI, so it costs little on every request and covers WebSockets as well:
- `Host` must be a loopback name or one configured in SWEATPANTS_ALLOWED_HOSTS (stops DNS
  rebinding: a foreign site resolving its own name to 127.0.0.1).
- State-changing requests and WebSocket handshakes that carry an `Origin` must come from the
  daemon's own origin (stops cross-site requests from a page in the user's browser).
- Bodies of state-changing requests must be declared JSON (stops HTML forms, which cannot).
- With SWEATPANTS_API_AUTH_TOKEN or SWEATPANTS_API_SIGNED_TOKEN_SECRET set, a bearer token is
  required (`?token=` for WebSockets and downloads, which browsers cannot give headers): the
  master token (every scope) or a signed user token (sweatpants/tokens.py) holding the scope
  the route's family needs (api/scopes.py); a refusal is a 401 with one of the earlier
  engine's short reasons, a missing scope a 403. A signed token's claims go to the route in
  `scope["state"]["token_claims"]` (see deps.token_claims). A `?token=` is removed from the
  query string once read, so no access log or later layer ever sees it. The dashboard's
  static files stay public so it can ask for the token, and so do the API docs (/docs,
  /redoc, /openapi.json).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sweatpants.api.scopes import required_scope
from sweatpants.config import Settings
from sweatpants.errors import Forbidden, SweatpantsError, Unauthorized, UnsupportedMediaType
from sweatpants.tokens import InvalidToken, Reason, TokenClaims, verify_token

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# /schema/module.json: a file of the package, for editors that cannot send a token.
PUBLIC_PREFIXES = ("/ui/", "/docs", "/redoc", "/openapi.json", "/favicon.ico", "/schema/")
CLAIMS_KEY = "token_claims"  # where a signed token's claims wait for the route
WWW_AUTHENTICATE = b'Bearer realm="sweatpants"'


def split_host(value: str) -> tuple[str, int | None]:
    """`[::1]:8420` → (`::1`, 8420); `localhost` → (`localhost`, None)."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.port = settings.api_port
        self.token = settings.api_auth_token.encode() if settings.api_auth_token else b""
        self.secret = settings.api_signed_token_secret
        hosts = set(LOOPBACK_HOSTS) | {h.strip("[]") for h in settings.allowed_hosts}
        if settings.api_host not in {"0.0.0.0", "::", ""}:
            hosts.add(settings.api_host.strip("[]").lower())
        self.hosts = frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            self.check(scope)
        except SweatpantsError as error:
            await self._refuse(scope, receive, send, error)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host, _ = split_host(headers.get("host", ""))
        if host not in self.hosts:
            raise Forbidden(
                f"requests for host {headers.get('host', '(none)')!r} are refused; the daemon "
                "answers only to loopback names (list others in SWEATPANTS_ALLOWED_HOSTS)"
            )
        is_ws = scope["type"] == "websocket"
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if origin is not None and (is_ws or method not in SAFE_METHODS):
            self._check_origin(origin)
        if not is_ws and method not in SAFE_METHODS and self._has_body(headers):
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json" and not content_type.endswith("+json"):
                raise UnsupportedMediaType(
                    f"send the request body as JSON with Content-Type: application/json "
                    f"(got {content_type or 'no content type'!r})"
                )
        if (self.token or self.secret) and not self._public(scope):
            claims = self._check_token(scope, headers, allow_query=is_ws or method in SAFE_METHODS)
            if claims is not None:
                needed = required_scope(method, scope.get("path", ""), websocket=is_ws)
                if needed is not None:
                    claims.require(needed)
            scope.setdefault("state", {})[CLAIMS_KEY] = claims

    def _check_origin(self, origin: str) -> None:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or host not in self.hosts or port != self.port:
            raise Forbidden(f"requests from origin {origin!r} are refused")

    @staticmethod
    def _has_body(headers: dict[str, str]) -> bool:
        length = headers.get("content-length", "0").strip()
        return "transfer-encoding" in headers or (length not in ("", "0"))

    @staticmethod
    def _public(scope: Scope) -> bool:
        path: str = scope.get("path", "")
        return path == "/" or path.startswith(PUBLIC_PREFIXES)

    def _check_token(
        self, scope: Scope, headers: dict[str, str], *, allow_query: bool
    ) -> TokenClaims | None:
        """None for the master token, the claims for a signed token; else InvalidToken."""
        from_query = _take_query_token(scope)  # taken out even where it does not count
        offered = from_query if allow_query else ""
        authorization = headers.get("authorization")
        if authorization is not None:
            kind, _, credential = authorization.strip().partition(" ")
            if kind.lower() != "bearer":
                raise InvalidToken(Reason.NOT_BEARER)
            offered = credential.strip()
            if not offered:
                raise InvalidToken(Reason.MALFORMED_TOKEN)
        if not offered:
            raise InvalidToken(Reason.MISSING_HEADER)
        if self.token and hmac.compare_digest(offered.encode(), self.token):
            return None
        if self.secret:  # as the earlier engine: anything but the master token is a signed one
            return verify_token(self.secret, offered)
        raise InvalidToken(Reason.INVALID_CREDENTIALS)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, error: SweatpantsError
    ) -> None:
        body = json.dumps(error.to_dict()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if isinstance(error, Unauthorized):
            headers.append((b"www-authenticate", WWW_AUTHENTICATE))
        prefix = "http."
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            if "websocket.http.response" not in scope.get("extensions", {}):
                # Refuse the handshake; the ASGI server answers 403.
                reason = error.detail[:120]
                await send({"type": "websocket.close", "code": 1008, "reason": reason})
                return
            prefix = "websocket.http."  # the same answer as over HTTP: status, reason, header
        await send({"type": prefix + "response.start", "status": error.status, "headers": headers})
        await send({"type": prefix + "response.body", "body": body})


def _take_query_token(scope: Scope) -> str:
    """The `?token=` of a request, removed from its query string so nothing logs it."""
    raw = scope.get("query_string", b"")
    if b"token=" not in raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    offered = next((value for key, value in pairs if key == "token"), "")
    kept = [(key, value) for key, value in pairs if key != "token"]
    scope["query_string"] = urlencode(kept).encode("latin-1")
    return offered
