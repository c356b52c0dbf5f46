"""Alembic migrations on SQLite and PostgreSQL: they build exactly the tables the code
uses, and a database made before migrations existed is upgraded with its data kept."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.adapters.db.migrate import BASELINE, alembic_config, head_revision
from ose_mesh.adapters.db.tables import ServiceRow
from tests.contract.test_repository import service


def differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_build_the_schema_the_code_uses(sql_repository: SqlRepository) -> None:
    # the fixture created the schema through the migrations
    assert await sql_repository.schema_revision() == head_revision()
    async with sql_repository._engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_migrating_twice_changes_nothing(sql_repository: SqlRepository) -> None:
    await sql_repository.upsert_service(service())
    await sql_repository.create_schema()
    assert await sql_repository.schema_revision() == head_revision()
    assert await sql_repository.list_services() == [service()]


async def test_a_database_from_before_migrations_is_upgraded_with_its_data(
    database_url: str,
) -> None:
    old = SqlRepository.from_url(database_url)
    await old.drop_schema()
    async with old._engine.begin() as conn:  # what versions without migrations made
        await conn.run_sync(_baseline_tables)
        baseline_columns = await conn.run_sync(
            lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("services")}
        )
        # Only what the first revision stored: later revisions add columns with defaults.
        row = {name: value for name, value in _row().items() if name in baseline_columns}
        old_services = sa.table("services", *(sa.column(name) for name in row))
        await conn.execute(sa.insert(old_services).values(**row))
    assert await old.schema_revision() is None
    try:
        await old.create_schema()
        assert await old.schema_revision() == head_revision()
        [kept] = await old.list_services()
        assert kept.service_id == "payments"
    finally:
        await old.drop_schema()
        await old.close()


def _baseline_tables(connection: sa.Connection) -> None:
    """The first revision's tables, with no record of a migration."""
    command.upgrade(alembic_config(connection), BASELINE)
    connection.exec_driver_sql("DROP TABLE alembic_version")


def _row() -> dict[str, object]:
    return ServiceRow.values(service())


async def test_servers_starting_together_take_turns_to_migrate(database_url: str) -> None:
    first, second = SqlRepository.from_url(database_url), SqlRepository.from_url(database_url)
    await first.drop_schema()
    try:
        async with first._engine.connect() as conn:
            await first.migrate(conn)  # the first server is midway: tables made, not committed
            starting = asyncio.ensure_future(second.create_schema())
            await asyncio.sleep(0.5)
            assert not starting.done()  # waits for the first one's lock
            await conn.commit()
        await starting  # then finds the schema current, instead of creating it again
        assert await second.schema_revision() == head_revision()
    finally:
        await first.drop_schema()
        await first.close()
        await second.close()
