"""Shared fixtures: database URLs for both backends, and a running app for API tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ose_mesh.adapters.db import SqlRepository

# PostgreSQL for the tests that need it; CI starts it (.ci/run). Never skipped: a missing
# server fails these tests.
POSTGRES_URL = os.environ.get(
    "OSE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

RABBITMQ_URL = os.environ.get("OSE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'mesh.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else POSTGRES_URL


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[SqlRepository]:
    repo = SqlRepository.from_url(database_url)
    await repo.drop_schema()
    await repo.create_schema()
    try:
        yield repo
    finally:
        await repo.drop_schema()
        await repo.close()
