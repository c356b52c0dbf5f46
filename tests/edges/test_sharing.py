"""Who may share a database, as `ose-mesh serve` says it; and docker-compose.yml's cluster:
three replicas with one database, one broker and one set of tokens behind the load
balancer that deploy/haproxy.cfg configures."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.cli import main
from ose_mesh.core.membership import Identity, Membership

ROOT = Path(__file__).parents[2]


def test_cluster_mode_refuses_sqlite_and_the_memory_bus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"
    assert main(["serve", "--cluster", "--database-url", url]) == 2
    assert "cluster mode needs PostgreSQL" in capsys.readouterr().err
    monkeypatch.delenv("RABBITMQ_HOST", raising=False)
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    monkeypatch.setenv("OSE_MESH_CLUSTER", "true")
    assert main(["serve", "--database-url", "postgresql://localhost/mesh"]) == 2
    assert "cluster mode needs RabbitMQ" in capsys.readouterr().err


def test_a_bad_replica_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--replica-id", "a b"]) == 2
    assert "OSE_MESH_REPLICA_ID" in capsys.readouterr().err


def test_a_second_server_on_a_database_in_use_is_refused_with_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"

    async def first_server() -> None:
        repository = SqlRepository.from_url(url)
        await repository.create_schema()
        await Membership(repository, Identity("first", cluster=False, host="elsewhere")).join()
        await repository.close()

    asyncio.run(first_server())
    assert main(["serve", "--database-url", url, "--port", "1"]) == 3
    error = capsys.readouterr().err
    assert "used by the server first (host elsewhere" in error
    assert "--cluster" in error


def test_compose_runs_three_replicas_of_one_cluster_behind_the_load_balancer() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = {name: s for name, s in services.items() if name.startswith("mesh-")}
    assert len(replicas) == 3
    environments = [s["environment"] for s in replicas.values()]
    assert all(e["OSE_MESH_CLUSTER"] == "true" for e in environments)
    assert len({e["OSE_MESH_REPLICA_ID"] for e in environments}) == 3
    for shared in ("DATABASE_URL", "RABBITMQ_HOST", "OSE_MESH_WRITE_TOKENS"):
        assert len({e[shared] for e in environments}) == 1
    assert environments[0]["DATABASE_URL"].startswith("postgresql")
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    backends = set(re.findall(r"^\s*server (\S+) (\S+):8000 check", config, re.MULTILINE))
    assert backends == {(name, name) for name in replicas}
    assert "./deploy/haproxy.cfg" in services["load-balancer"]["volumes"][0]
    assert "timeout tunnel" in config  # WebSockets stay open
