"""The web pages: the client built from web/ (one HTML shell for every page), Swagger UI over
the OpenAPI document (served by api/openapi.py), and the static files. Nothing is loaded
from outside the server."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGES = ("/", "/heartbeat-dashboard", "/dependencies", "/events", "/status", "/status/{cluster}")


async def page(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@cache
def vendored(package: str) -> str:
    """The folder `npm run build` copied a package into: `package@version` under
    static/vendor/ (web/scripts/vendor.mjs)."""
    found = sorted((STATIC / "vendor").glob(f"{package}@*"))
    if not found:
        raise RuntimeError(f"{package} is not built: run `make install` (it runs npm)")
    return found[-1].name


async def api_docs(request: Request) -> HTMLResponse:
    folder = f"/static/vendor/{vendored('swagger-ui-dist')}"
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API docs · OSE Service Mesh</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{folder}/swagger-ui.css">
  <link rel="stylesheet" href="/static/third-party-a11y.css">
</head>
<body>
  <nav style="font:14px system-ui,sans-serif;padding:.6rem 1.2rem;border-bottom:1px solid #d0d7de">
    <a href="/" style="color:#0969da;text-decoration:none">← OSE Service Mesh console</a>
  </nav>
  <div id="swagger-ui"></div>
  <script src="{folder}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""
    )


web_routes: list[BaseRoute] = [
    *(Route(path, page, methods=["GET"]) for path in PAGES),
    Route("/api/docs", api_docs, methods=["GET"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]

__all__ = ["web_routes"]
