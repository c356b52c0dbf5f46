"""GraphiQL with no internet: strawberry's page, pointed at our own copies of its assets.

The page loads React, GraphiQL and the explorer plugin from a CDN; `make install` copies the
same versions from npm into `static/vendor/` (web/scripts/vendor.mjs) and this page points
there. The files are byte-identical, so the page's integrity hashes still hold.
"""

from __future__ import annotations

from strawberry.asgi import GraphQL

CDN = "https://unpkg.com/"
LOCAL = "/static/vendor/"


class OfflineGraphQL(GraphQL):
    @property
    def graphql_ide_html(self) -> str:
        return super().graphql_ide_html.replace(CDN, LOCAL)
