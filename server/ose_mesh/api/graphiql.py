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
# strawberry's welcome text (with a strawberry emoji, a missing-glyph box on a machine with
# no emoji font) gives way to what a user of the mesh asks first, and a second tab holds a
# subscription.
EXAMPLE_START = "const EXAMPLE_QUERY = `"
EXAMPLE_END = "`;"
EXAMPLE_QUERY = """# Every service with its status and metrics.
# Run it with Ctrl-Enter or the play button.
# The second tab follows status changes live.
query Services {
  services(limit: 50) {
    id
    name
    health {
      status
      reason
      rootCauses
      metrics {
        heartbeatCount
        p50LatencyMs
        p95LatencyMs
        uptimePercentage
        lastHeartbeat
      }
    }
  }
}
"""
SUBSCRIPTION_EXAMPLE = """# Status changes of every service, as they happen:
# run it, then change a service through the API.
subscription StatusChanges {
  serviceStatusChanged {
    serviceId
    previous
    current
    reason
    rootCauses
    at
  }
}
"""
TABS_OPTION = "          defaultEditorToolsVisibility: true,\n"
TABS = (
    TABS_OPTION
    + "          defaultTabs: [{ query: EXAMPLE_QUERY }, { query: SUBSCRIPTION_EXAMPLE }],\n"
)
# The way back to the console, in a corner GraphiQL leaves free.
BACK = (
    '<a href="/" class="ose-back" style="position:fixed;right:.8rem;bottom:.6rem;z-index:10;'
    "font:13px system-ui,sans-serif;color:#0969da;background:#fff;padding:.2rem .5rem;"
    'border:1px solid #d0d7de;border-radius:6px;text-decoration:none">'
    "← OSE Service Mesh console</a>"
)


# Contrast and labels GraphiQL misses (static/third-party-a11y.*, shared with Swagger UI).
A11Y = (
    '<link rel="stylesheet" href="/static/third-party-a11y.css">'
    '<script src="/static/third-party-a11y.js" defer></script>'
)


class OfflineGraphQL(GraphQL[dict[str, Any], None]):
    @cached_property
    def graphql_ide_html(self) -> str:
        page = super().graphql_ide_html.replace(CDN, LOCAL)
        if FETCHER_OPTION not in page or BODY not in page or HEADERS not in page:
            raise RuntimeError("strawberry's GraphiQL page changed: update api/graphiql.py")
        if EXAMPLE_START not in page or TABS_OPTION not in page:
            raise RuntimeError("strawberry's GraphiQL page changed: update api/graphiql.py")
        client = f'<script src="{LOCAL}{vendored("graphql-ws")}/umd/graphql-ws.min.js"></script>'
        page = page.replace(FETCHER_OPTION, WS_CLIENT_OPTION).replace(HEADERS, TOKEN_HEADERS)
        page = _with_examples(page).replace(TABS_OPTION, TABS)
        if "<html>" not in page or "</head>" not in page:
            raise RuntimeError("strawberry's GraphiQL page changed: update api/graphiql.py")
        page = page.replace("<html>", '<html lang="en">', 1).replace("</head>", A11Y + "</head>", 1)
        return page.replace(BODY, BODY + BACK + client)


def _with_examples(page: str) -> str:
    """The page with our example query (and the subscription's) instead of the welcome."""
    start = page.index(EXAMPLE_START) + len(EXAMPLE_START)
    end = page.index(EXAMPLE_END, start)
    examples = (
        f"{EXAMPLE_QUERY}{EXAMPLE_END}\n      const SUBSCRIPTION_EXAMPLE = `{SUBSCRIPTION_EXAMPLE}"
    )
    return page[:start] + examples + page[end:]
