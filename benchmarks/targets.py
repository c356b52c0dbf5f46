"""A fast process serving many health endpoints (`/health/{n}`), the probing benchmark's target.

Run: python -m benchmarks.targets PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_get("/health/{n}", health)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
