"""The web client's GraphQL documents (web/src/lib/documents.js) validate against
schema.graphql, checked by graphql-js itself (web/scripts/check-documents.mjs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def test_the_client_documents_match_the_schema() -> None:
    result = subprocess.run(
        ["node", "scripts/check-documents.mjs"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "0 problems" in result.stdout
