"""Catalogs, docker-compose and Backstage files: what they become, and errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from ose_mesh.adapters.catalog_files import (
    CatalogError,
    parse_catalog,
    read_backstage,
    read_compose,
)
from ose_mesh.demo.simulator import topology_text
from ose_mesh.domain import CheckType, DependencyType, Relationship


def edges(catalog: object) -> set[tuple[str, str, str, str]]:
    return {
        (d.source, d.target, d.type.value, d.relationship.value)
        for d in catalog.dependencies  # type: ignore[attr-defined]
    }


def test_the_demo_topology_is_a_valid_catalog() -> None:
    catalog, _ = parse_catalog(topology_text(), "topology.json")
    assert len(catalog.services) == 12
    assert len(catalog.dependencies) == 32


def test_a_yaml_catalog_with_checks() -> None:
    catalog, _ = parse_catalog(
        """
services:
  - id: payments
    name: Payments
    cluster: core
    check: {type: http, url: "http://10.0.0.5/health", interval_seconds: 15}
  - id: ledger-db
    check: {type: tcp, host: 10.0.0.9, port: 5432}
dependencies:
  - {source: payments, target: ledger-db, type: hard, relationship: database}
""",
        "catalog.yaml",
    )
    payments, db = catalog.services
    assert payments.check_type is CheckType.HTTP
    assert payments.interval_seconds == 15
    assert db.port == 5432
    assert edges(catalog) == {("payments", "ledger-db", "hard", "database")}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("services:\n  - id: a\n    colour: red\n", 3, "colour"),
        ("services:\n  - id: a\n    check:\n      interval_seconds: often\n", 4, "valid number"),
        ("services:\n  - id: a\n  - id: a\n", 3, "twice"),
        ("dependencies:\n  - {source: a, target: a}\n", 2, "itself"),
        ("dependencies:\n  - {source: a, target: b, type: circular}\n", 2, "circular"),
        ("dependencies:\n  - {source: a, target: b, relationship: smoke}\n", 2, "relationship"),
        ("services: [\n  {id: a,\n", 3, "not valid YAML"),
        ("- just\n- a list\n", 1, "mapping"),
        ("servics: []\n", 1, "servics"),
    ],
)
def test_broken_catalogs_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(CatalogError) as error:
        parse_catalog(text, "catalog.yaml")
    message = str(error.value)
    assert message.startswith(f"catalog.yaml:{line}:"), message
    assert words in message


def test_compose_depends_on_short_and_long_form(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(
        """
services:
  web:
    image: nginx
    depends_on:
      api:
        condition: service_healthy
      cache:
        condition: service_started
        required: false
  api:
    depends_on: [db, queue]
  db: {image: "postgres:16"}
  cache: {image: "redis:7"}
  queue: {image: "rabbitmq:3-management"}
"""
    )
    assert edges(read_compose(path)) == {
        ("web", "api", "hard", "sync_api"),
        ("web", "cache", "optional", "cache"),
        ("api", "db", "hard", "database"),
        ("api", "queue", "hard", "message_queue"),
    }


def test_backstage_multi_document_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog-info.yaml"
    path.write_text(
        """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout, title: Checkout}
spec:
  type: service
  system: shop
  dependsOn: ["component:default/payments", "resource:default/orders-db"]
  consumesApis: ["api:default/pricing-api", "external-api"]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: pricing}
spec: {type: service, providesApis: [pricing-api]}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: pricing-api}
spec: {type: openapi}
"""
    )
    catalog = read_backstage(path)
    assert [s.service_id for s in catalog.services] == ["checkout", "pricing"]
    assert catalog.services[0].cluster == "shop"
    assert edges(catalog) == {
        ("checkout", "payments", "hard", "sync_api"),
        ("checkout", "orders-db", "hard", "sync_api"),
        ("checkout", "pricing", "soft", "sync_api"),
        ("checkout", "external-api", "soft", "sync_api"),
    }
    assert all(d.type in (DependencyType.HARD, DependencyType.SOFT) for d in catalog.dependencies)
    assert Relationship.SYNC_API in {d.relationship for d in catalog.dependencies}


def test_broken_compose_and_backstage_files_name_the_line(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    depends_on: [web]\n")
    with pytest.raises(CatalogError, match=r"compose.yml:3: .*itself"):
        read_compose(compose)
    backstage = tmp_path / "catalog-info.yaml"
    backstage.write_text("kind: Component\nmetadata: {name: a}\n---\nkind: Component\nspec: {}\n")
    with pytest.raises(CatalogError, match=r"catalog-info.yaml:4: metadata"):
        read_backstage(backstage)
