"""The `ose-mesh` command's own checks (serving is covered by tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ose_mesh.api.graphql import schema
from ose_mesh.cli import main


def test_export_schema_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["export-schema", "--output", str(target), "--check"]) == 1
    assert main(["export-schema", "--output", str(target)]) == 0
    assert target.read_text() == str(schema) + "\n"
    assert main(["export-schema", "--output", str(target), "--check"]) == 0
    target.write_text(target.read_text() + "# drift\n")
    assert main(["export-schema", "--output", str(target), "--check"]) == 1


def test_committed_schema_matches_the_code() -> None:
    committed = Path(__file__).parents[2] / "schema.graphql"
    assert committed.read_text() == str(schema) + "\n"


def test_serve_refuses_invalid_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEARTBEAT_INTERVAL", "-1")
    assert main(["serve"]) == 2
    assert "HEARTBEAT_INTERVAL" in capsys.readouterr().err
