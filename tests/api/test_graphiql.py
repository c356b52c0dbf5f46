"""GraphiQL works offline: the page names no other host, and every asset it loads is served."""

from __future__ import annotations

import re

import httpx


async def test_graphiql_page_loads_only_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert external == []
    assets = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page.text)
    # react, react-dom, js-cookie, graphiql js+css, explorer js+css, graphql-ws
    assert len(assets) == 8
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, f"{asset} is missing: run `make install`"
        assert len(response.content) > 500
