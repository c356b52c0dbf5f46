"""The `ose-mesh` command's own checks (serving is covered by tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ose_mesh.adapters.db.migrate import head_revision
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


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("targets:\n  - name: x\n    url: nope://x\n", "targets.0 (x): url: is not a URL"),
        ("targets:\n  - name: x\n", "targets.0.url: Field required"),
        ("targets: [oops\n", "is not YAML"),
        ("targets:\n  - name: x\n    url: json://h/\n    statuses: [healthy]\n", "statuses"),
    ],
)
def test_serve_refuses_a_bad_notification_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    says: str,
) -> None:
    notify_file = tmp_path / "notify.yaml"
    notify_file.write_text(content)
    monkeypatch.setenv("OSE_MESH_NOTIFY_FILE", str(notify_file))
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("ose-mesh: OSE_MESH_NOTIFY_FILE: ")
    assert says in error


def test_serve_refuses_a_probe_ca_file_that_holds_no_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hello")
    monkeypatch.setenv("OSE_MESH_PROBE_CA_FILE", str(not_pem))
    assert main(["serve"]) == 2
    assert "OSE_MESH_PROBE_CA_FILE" in capsys.readouterr().err


def test_init_loads_a_catalog_idempotently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n  - {id: web, cluster: core}\n  - {id: db}\n"
        "dependencies:\n  - {source: web, target: db, relationship: database}\n"
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"
    assert main(["init", "--catalog", str(catalog), "--database-url", url]) == 0
    assert "2 services created, 0 updated, 1 dependencies" in capsys.readouterr().out
    assert main(["init", "--catalog", str(catalog), "--database-url", url]) == 0
    assert "0 services created, 2 updated, 1 dependencies" in capsys.readouterr().out


def test_a_broken_catalog_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"
    good = tmp_path / "good.yaml"
    good.write_text("services:\n  - {id: web}\n")
    assert main(["init", "--catalog", str(good), "--database-url", url]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "services:\n  - {id: api}\n  - {id: db, check: {type: http}}\n"  # http without url
    )
    assert main(["init", "--catalog", str(broken), "--database-url", url]) == 1
    assert "health_url" in capsys.readouterr().err
    # Nothing of the broken file was stored: loading the good one again updates only `web`.
    assert main(["init", "--catalog", str(good), "--database-url", url]) == 0
    assert "0 services created, 1 updated" in capsys.readouterr().out


def test_import_compose_reports_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  web:\n    depends_on: [db]\n  db:\n    image: postgres\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"
    assert main(["import", "compose", str(compose), "--database-url", url]) == 0
    assert "1 dependencies" in capsys.readouterr().out
    compose.write_text("services:\n  web:\n    depends_on: [web\n")
    assert main(["import", "compose", str(compose), "--database-url", url]) == 1
    assert f"{compose}:" in capsys.readouterr().err


def test_migrate_creates_then_finds_the_schema_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"
    assert main(["migrate", "--database-url", url]) == 0
    head = head_revision()
    assert f"schema revision none -> {head}" in capsys.readouterr().out
    assert main(["migrate", "--database-url", url]) == 0
    assert f"schema revision {head} -> {head}" in capsys.readouterr().out


def test_migrate_says_when_the_database_is_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    assert main(["migrate", "--database-url", url]) == 1
    assert "database is unavailable" in capsys.readouterr().err
