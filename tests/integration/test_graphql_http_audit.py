"""graphql-http's GraphQL-over-HTTP audit (the reference implementation's own checks)
against a real server: every MUST and SHOULD passes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import sqlite_url
from tests.integration.server import MeshProcess

pytestmark = pytest.mark.integration
NODE_TESTS = Path(__file__).parents[1] / "node"


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[MeshProcess]:
    server = MeshProcess(sqlite_url(tmp_path), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_every_must_and_should_of_graphql_over_http_passes(mesh: MeshProcess) -> None:
    run = subprocess.run(
        ["node", str(NODE_TESTS / "audit-graphql.mjs"), f"{mesh.url}/graphql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = json.loads(run.stdout)
    print(f"\ngraphql-http audit: {sum(r['status'] == 'ok' for r in results)}/{len(results)} ok")
    assert len(results) >= 50
    failed = [
        f"{r['status']}: {r['name']} ({r['reason']})"
        for r in results
        if r["status"] != "ok" and r["name"].startswith(("MUST", "SHOULD"))
    ]
    assert failed == []
