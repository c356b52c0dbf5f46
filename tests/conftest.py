"""Shared fixtures: database URLs for both backends, and a running app for API tests.

The machine's PostgreSQL and RabbitMQ are shared with other people: a test run works in a
database and a vhost of its own, made when the first test needing them is collected and
dropped at the end (unless OSE_TEST_POSTGRES_URL / OSE_TEST_RABBITMQ_URL name others). CI
starts both servers (.ci/run); tests that need them fail, never skip, without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ose_mesh.adapters.db import SqlRepository
from tests.fakes import MemoryRepository

RUN = uuid.uuid4().hex[:10]
TEST_DATABASE = f"ose_test_{RUN}"
TEST_VHOST = f"ose-test-{RUN}"
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
OWN_POSTGRES = "OSE_TEST_POSTGRES_URL" not in os.environ
OWN_VHOST = "OSE_TEST_RABBITMQ_URL" not in os.environ
POSTGRES_URL = os.environ.get(
    "OSE_TEST_POSTGRES_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{TEST_DATABASE}"
)
RABBITMQ_URL = os.environ.get(
    "OSE_TEST_RABBITMQ_URL", f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}"
)
RABBITMQ_VHOST = TEST_VHOST if OWN_VHOST else "/"
_made: list[str] = []  # what this run made and drops at the end


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markers = {marker.name for item in items for marker in item.iter_markers()}
    if "postgres" in markers and OWN_POSTGRES:
        asyncio.run(_admin_sql(f'CREATE DATABASE "{TEST_DATABASE}"'))
        _made.append("database")
    if "rabbitmq" in markers and OWN_VHOST:
        _rabbitmqctl("add_vhost", TEST_VHOST)
        _made.append("vhost")
        _rabbitmqctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if "database" in _made:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)'))
    if "vhost" in _made:
        _rabbitmqctl("delete_vhost", TEST_VHOST)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else POSTGRES_URL


@contextlib.asynccontextmanager
async def _fresh_schema(url: str) -> AsyncIterator[SqlRepository]:
    repo = SqlRepository.from_url(url)
    await repo.drop_schema()
    await repo.create_schema()
    try:
        yield repo
    finally:
        await repo.drop_schema()
        await repo.close()


@pytest.fixture
async def sql_repository(database_url: str) -> AsyncIterator[SqlRepository]:
    """SQLite, then PostgreSQL: for what only a SQL database does (migrations, refusals)."""
    async with _fresh_schema(database_url) as repo:
        yield repo


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def repository(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each store the contract suite holds to the same assertions: the in-memory one the
    unit tests use (tests/fakes.py), SQLite and PostgreSQL."""
    if request.param == "memory":
        yield MemoryRepository()
        return
    url = sqlite_url(tmp_path) if request.param == "sqlite" else POSTGRES_URL
    async with _fresh_schema(url) as repo:
        yield repo
