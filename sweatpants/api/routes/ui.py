"""The dashboard: `ui/index.html` at `/`, its files under `/ui/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from sweatpants.errors import Unavailable
from sweatpants.paths import ui_dir

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> Response:
    """The dashboard; a 503 naming where it looked if the files are missing."""
    return FileResponse(ui_dir() / "index.html", headers={"Cache-Control": "no-cache"})


class RevalidatedFiles(StaticFiles):
    """Static files a browser must revalidate (cheap, by ETag), so upgrades never show old JS."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_ui(app: FastAPI) -> None:
    try:
        directory = ui_dir()
    except Unavailable:
        return  # `/` explains what is missing
    app.mount("/ui", RevalidatedFiles(directory=directory), name="ui")
