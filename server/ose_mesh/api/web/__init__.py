"""The web pages. For now a small live dashboard; the full client comes from web/."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def _route(path: str, name: str) -> Route:
    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html")

    return Route(path, page, methods=["GET"])


web_routes: list[BaseRoute] = [
    _route("/", "index.html"),
    _route("/heartbeat-dashboard", "index.html"),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]

__all__ = ["web_routes"]
