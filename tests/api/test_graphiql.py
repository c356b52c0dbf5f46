"""GraphiQL works offline: the page names no other host, and every asset it loads is served."""

from __future__ import annotations

import re

import httpx
from graphql import parse, validate

from ose_mesh.api.graphiql import EXAMPLE_QUERY, SUBSCRIPTION_EXAMPLE
from ose_mesh.api.graphql import schema


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


async def test_graphiql_opens_on_examples_that_the_schema_accepts(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/graphql", headers={"accept": "text/html"})).text
    assert "defaultTabs: [{ query: EXAMPLE_QUERY }, { query: SUBSCRIPTION_EXAMPLE }]" in page
    assert "\U0001f353" not in page  # the welcome's strawberry: a missing glyph without emoji
    for example in (EXAMPLE_QUERY, SUBSCRIPTION_EXAMPLE):
        assert validate(schema._schema, parse(example)) == []
        assert example in page
    assert '<a href="/" class="ose-back"' in page  # and a way back to the console
    docs = (await client.get("/api/docs")).text
    assert '<a href="/"' in docs
