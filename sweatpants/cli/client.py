"""A small HTTP client for the daemon: one place that turns transport and API failures into
`DaemonUnreachable` / `ApiError` with the daemon's own words."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sweatpants.cli.errors import ApiError, CliError, DaemonUnreachable
from sweatpants.cli.target import Target
from sweatpants.version import __version__

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
LONG_TIMEOUT = 600.0  # git clones and syncs


class DaemonClient:
    """Requests to one daemon. Use as a context manager, or call `close()`."""

    def __init__(self, target: Target) -> None:
        import httpx

        self.target = target
        headers = {"Accept": "application/json", "User-Agent": f"sweatpants-cli/{__version__}"}
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        self._http = httpx.Client(
            base_url=target.url,
            headers=headers,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            trust_env=False,  # the daemon is local: never route it through a proxy
        )

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        return self.request("POST", path, body=body, timeout=timeout)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or an error with the daemon's detail."""
        with self._transport_errors(timeout):
            kwargs: dict[str, Any] = {"params": _clean(params)}
            if body is not None:
                kwargs["json"] = body
            if timeout is not None:
                kwargs["timeout"] = timeout
            response = self._http.request(method, path, **kwargs)
        return self._decode(response)

    @contextmanager
    def stream(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        body: Any = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """A request whose answer is read in chunks by the caller (exports, install logs)."""
        extra: dict[str, Any] = {} if body is None else {"json": body}
        if timeout is not None:
            extra["timeout"] = timeout
        with (
            self._transport_errors(timeout),
            self._http.stream(
                method, path, params=_clean(params), headers={"Accept": "*/*"}, **extra
            ) as response,
        ):
            if response.status_code >= 400:
                response.read()
                raise api_error(response, self.target.url)
            yield response

    @contextmanager
    def _transport_errors(self, timeout: float | None) -> Iterator[None]:
        import httpx

        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise DaemonUnreachable(self.target.url) from exc
        except httpx.TimeoutException as exc:
            waited = timeout or READ_TIMEOUT
            raise CliError(
                f"the daemon at {self.target.url} did not answer within {waited:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise CliError(
                f"the connection to the daemon at {self.target.url} broke: {reason}"
            ) from exc

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise api_error(response, self.target.url)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise not_our_daemon(self.target.url, response.status_code) from None


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {key: value for key, value in params.items() if value is not None}


def not_our_daemon(url: str, status: int) -> CliError:
    return CliError(
        f"something at {url} answered HTTP {status} but it is not a Sweatpants daemon; "
        "check --url / SWEATPANTS_URL or SWEATPANTS_API_PORT"
    )


def api_error(response: httpx.Response, url: str) -> ApiError | CliError:
    """The daemon's `{"detail", "error", "field", "matches"}` as an `ApiError`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        if response.status_code in (401, 403):
            body = {"detail": response.text.strip() or response.reason_phrase}
        else:
            return not_our_daemon(url, response.status_code)
    return error_from_body(body, response.status_code)


def error_from_body(body: Mapping[str, Any], status: int) -> ApiError:
    detail = _detail_text(body.get("detail"))
    field = body.get("field") if isinstance(body.get("field"), str) else None
    matches = body.get("matches")
    extra: list[str] = []
    if status == 401:
        extra.append(
            "hint: set SWEATPANTS_API_AUTH_TOKEN to the daemon's token "
            "(or run the CLI as the user that started the daemon)"
        )
    return ApiError(
        detail,
        status=status,
        code=str(body.get("error") or "error"),
        field=field,
        matches=[str(m) for m in matches] if isinstance(matches, list) else None,
        extra=extra,
    )


def _detail_text(detail: Any) -> str:
    """Our daemon sends a sentence; FastAPI's own validation sends a list of problems."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts) or "invalid request"
    return str(detail)
