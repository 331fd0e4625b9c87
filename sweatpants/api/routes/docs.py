"""The API's documentation: Swagger UI at `/docs`, ReDoc at `/redoc`, both offline.

Their JavaScript and CSS come from the `fastapi-offline` package (MIT), which ships the
Swagger UI (Apache-2.0) and ReDoc (MIT) builds; they are served under `/docs/assets/`, and
the favicon is the dashboard's. Nothing comes from another host: no CDN, no web fonts, no
online validator. A Content-Security-Policy on both pages makes the browser hold them to it:
only this daemon's scripts (and the one inline Swagger UI set-up, by its hash), styles,
images and connections. ReDoc's sidebar credit asks for a logo from ReDoc's CDN (no option
turns it off); the policy refuses it before any request leaves, and the credit shows as text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from sweatpants.errors import Unavailable

router = APIRouter()

ASSETS_PATH = "/docs/assets"  # under /docs, which the security guard keeps public
FAVICON_PATH = "/ui/icon.svg"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"

# ReDoc styles itself with inline <style> (styled-components) and searches in a blob: worker.
POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def assets_dir() -> Path:
    """The folder holding the Swagger UI and ReDoc builds; `Unavailable` if it is missing."""
    try:
        import fastapi_offline
    except ImportError:
        raise Unavailable(
            "the API documentation pages need the fastapi-offline package: "
            "pip install fastapi-offline (or reinstall sweatpants)"
        ) from None
    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    missing = [
        name for name in (SWAGGER_JS, SWAGGER_CSS, REDOC_JS) if not (folder / name).is_file()
    ]
    if missing:
        raise Unavailable(
            f"the API documentation files {', '.join(missing)} are missing from {folder}; "
            "reinstall fastapi-offline"
        )
    return folder


def _locked(page: HTMLResponse) -> HTMLResponse:
    """`page` with a policy that allows only this daemon, and its own inline scripts."""
    html = bytes(page.body).decode()
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    page.headers["Content-Security-Policy"] = POLICY.format(scripts=hashes)
    page.headers["Cache-Control"] = "no-cache"
    return page


def _urls(request: Request) -> tuple[str, str, str]:
    """The schema's URL, the assets' prefix and the favicon's URL, all on this daemon."""
    root = str(request.scope.get("root_path", ""))
    return f"{root}{request.app.openapi_url}", f"{root}{ASSETS_PATH}", f"{root}{FAVICON_PATH}"


@router.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    assets_dir()  # a 503 that says what is missing, rather than a blank page
    openapi_url, assets, favicon = _urls(request)
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{assets}/{SWAGGER_JS}",
        swagger_css_url=f"{assets}/{SWAGGER_CSS}",
        swagger_favicon_url=favicon,
        oauth2_redirect_url=None,
        # validatorUrl: Swagger UI would otherwise send the schema to an online validator.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _locked(page)


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    assets_dir()
    openapi_url, assets, favicon = _urls(request)
    page = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} API",
        redoc_js_url=f"{assets}/{REDOC_JS}",
        redoc_favicon_url=favicon,
        with_google_fonts=False,
    )
    return _locked(page)


def mount_docs_assets(app: FastAPI) -> None:
    try:
        folder = assets_dir()
    except Unavailable:
        return  # /docs and /redoc explain what is missing
    app.mount(ASSETS_PATH, StaticFiles(directory=folder), name="docs-assets")
