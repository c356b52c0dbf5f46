"""GraphiQL with no internet: strawberry's page, pointed at our own copies of its assets.

The page loads React, GraphiQL and the explorer plugin from a CDN; `make install` copies the
same versions from npm into `static/vendor/` (web/scripts/vendor.mjs) and this page points
there. The files are byte-identical, so the page's integrity hashes still hold.

Subscriptions: the page's fetcher looks for the graphql-ws client, which GraphiQL's UMD build
does not include, and falls back to HTTP multipart in a dialect strawberry does not speak.
So the page also loads graphql-ws (vendored too) and hands GraphiQL a WebSocket client:
subscriptions run over graphql-transport-ws, as in the web client.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from strawberry.asgi import GraphQL

from ose_mesh.api.web import vendored

CDN = "https://unpkg.com/"
LOCAL = "/static/vendor/"
FETCHER_OPTION = "        subscriptionUrl,\n"
# The token the web client keeps for this tab (api/web: lib/client.js), if any, goes with
# GraphiQL's requests and its WebSocket's connection_init.
TOKEN = 'sessionStorage.getItem("ose-mesh-token")'
WS_CLIENT_OPTION = (
    "        wsClient: graphqlWs.createClient({ url: subscriptionUrl, connectionParams: () =>"
    f" ({TOKEN} ? {{ Authorization: `Bearer ${{{TOKEN}}}` }} : {{}}) }}),\n"
)
HEADERS = "const defaultHeaders = {};"
TOKEN_HEADERS = (
    f"const defaultHeaders = {TOKEN} ? {{ Authorization: `Bearer ${{{TOKEN}}}` }} : {{}};"
)
BODY = '<div id="graphiql" class="graphiql-container">Loading...</div>'


class OfflineGraphQL(GraphQL[dict[str, Any], None]):
    @cached_property
    def graphql_ide_html(self) -> str:
        page = super().graphql_ide_html.replace(CDN, LOCAL)
        if FETCHER_OPTION not in page or BODY not in page or HEADERS not in page:
            raise RuntimeError("strawberry's GraphiQL page changed: update api/graphiql.py")
        client = f'<script src="{LOCAL}{vendored("graphql-ws")}/umd/graphql-ws.min.js"></script>'
        page = page.replace(FETCHER_OPTION, WS_CLIENT_OPTION).replace(HEADERS, TOKEN_HEADERS)
        return page.replace(BODY, BODY + client)
