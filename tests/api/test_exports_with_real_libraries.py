"""The exports, checked by the libraries that read them: Cytoscape.js loads the elements,
Mermaid's own parser accepts the flowchart (Node.js, packages in tests/node)."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

NODE_DIR = Path(__file__).parents[1] / "node"
HOSTILE_NAMES = [
    'He said "hi"',
    "it's [bracketed] (round) {curly}",
    "#1 hash; semi | pipe",
    "<script>alert(1)</script>",
    "end",
    "End of the line",
    "graph TD",
    "-->|x| ==> -.-> ---o ---x",
    "ünïcödé 服务 🚀",
    "שירות תשלומים",
    "`backticks` & ampersands",
    "x" * 200,
    "%%{init: {}}%%",
    "style s0 fill:#f00",
    "classDef x fill:#f00",
    "a;b classDef c:d #e; style:f#g;",
    "line\nbreak",
]
HOSTILE_IDS = ["o", "x", "oops", "xray", "end", "o-1", "x.y", "a--b", "__proto__"]


def run_node(script: str, payload: Any) -> Any:
    result = subprocess.run(
        ["node", str(NODE_DIR / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


async def hostile_graph(client: httpx.AsyncClient) -> None:
    ids = [*HOSTILE_IDS, *(f"svc-{i}" for i in range(len(HOSTILE_NAMES)))]
    names = [f"service {sid}" for sid in HOSTILE_IDS] + HOSTILE_NAMES
    for sid, name in zip(ids, names, strict=True):
        response = await client.post(
            "/api/v1/heartbeat/register",
            json={"service_id": sid, "service_name": name.replace("\n", " ")[:200]},
        )
        assert response.status_code == 201, response.text
    kinds = ["hard", "soft", "optional"]
    for index, (source, target) in enumerate(itertools.pairwise(ids)):
        response = await client.post(
            "/api/v1/dependencies",
            json={
                "source": source,
                "target": target,
                "type": kinds[index % 3],
                "relationship": "sync_api",
            },
        )
        assert response.status_code == 201
    await client.post(  # and a cycle, so `circular` edges are drawn too
        "/api/v1/dependencies",
        json={"source": ids[-1], "target": ids[0], "type": "hard", "relationship": "cache"},
    )


async def test_cytoscape_loads_every_node_and_edge(client: httpx.AsyncClient) -> None:
    await hostile_graph(client)
    exported = (await client.get("/api/v1/dependencies/visualize/cytoscape")).json()
    loaded = run_node("check-cytoscape.mjs", exported)
    assert loaded["errors"] == []
    assert sorted(loaded["nodes"]) == sorted(n["data"]["id"] for n in exported["elements"]["nodes"])
    assert sorted(e["id"] for e in loaded["edges"]) == sorted(
        e["data"]["id"] for e in exported["elements"]["edges"]
    )
    graph = (await client.get("/api/v1/dependencies/graph")).json()
    assert len(loaded["nodes"]) == graph["total_services"]
    assert len(loaded["edges"]) == graph["total_dependencies"]


async def test_mermaid_parses_with_hostile_names(client: httpx.AsyncClient) -> None:
    await hostile_graph(client)
    whole = (await client.get("/api/v1/dependencies/visualize/mermaid")).text
    assert "circular" in whole
    texts = [whole]
    for name in HOSTILE_NAMES:  # each hostile label alone too
        await client.post(
            "/api/v1/heartbeat/register", json={"service_id": "svc-0", "service_name": name[:200]}
        )
        texts.append((await client.get("/api/v1/dependencies/visualize/mermaid")).text)
    results = run_node("check-mermaid.mjs", texts)
    failures = [
        (text[:300], r["error"]) for text, r in zip(texts, results, strict=True) if not r["ok"]
    ]
    assert failures == []
    assert {r["type"] for r in results} == {"flowchart-v2"}


async def test_mermaid_shows_every_hostile_name_exactly(client: httpx.AsyncClient) -> None:
    for number, name in enumerate(HOSTILE_NAMES):
        await client.post(
            "/api/v1/heartbeat/register",
            json={"service_id": f"name-{number}", "service_name": name[:200]},
        )
    text = (await client.get("/api/v1/dependencies/visualize/mermaid")).text
    shown = set(run_node("mermaid-labels.mjs", text).values())
    for name in HOSTILE_NAMES:
        assert " ".join(name[:200].split()) in shown, name
