"""SQL repositories for SQLite (aiosqlite) and PostgreSQL (asyncpg), one implementation.

Every database error is translated at this edge into StorageUnavailable, which the API
answers with 503; nothing else in the server knows about SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from ose_mesh.adapters.db.migrate import current_revision, upgrade_to_head
from ose_mesh.adapters.db.tables import (
    DependencyRow,
    OutboxRow,
    RollupRow,
    ServiceRow,
    TransitionRow,
)
from ose_mesh.core import Rollup
from ose_mesh.core.ports import OutboxEntry
from ose_mesh.domain import (
    Dependency,
    HealthStatus,
    Service,
    StatusChange,
    StorageRefused,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

SERVICES: sa.Table = ServiceRow.__table__  # type: ignore[attr-defined]
TRANSITIONS: sa.Table = TransitionRow.__table__  # type: ignore[attr-defined]
ROLLUPS: sa.Table = RollupRow.__table__  # type: ignore[attr-defined]
DEPENDENCIES: sa.Table = DependencyRow.__table__  # type: ignore[attr-defined]
OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
MIGRATION_LOCK = 0x05E_3E54  # PostgreSQL advisory lock key: one migration at a time
_TABLES = [SERVICES, TRANSITIONS, ROLLUPS, DEPENDENCIES, OUTBOX]


P = ParamSpec("P")
R = TypeVar("R")


def _runs_to_completion(
    write: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """A write runs to its end even when its caller is cancelled meanwhile (the lifespan
    stopping the background tasks); the cancellation is raised once it has. A transaction
    cut off halfway leaves aiosqlite's connection terminated but not closed, still holding
    SQLite's write lock until it is garbage-collected: every later write waited 30 s for
    the lock and failed, the last history flush at shutdown among them."""

    @functools.wraps(write)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.ensure_future(write(*args, **kwargs))
        cancelled: asyncio.CancelledError | None = None
        while True:
            try:
                result = await asyncio.shield(task)
                break
            except asyncio.CancelledError as exc:
                if task.done():
                    raise
                cancelled = exc
        if cancelled is not None:
            raise cancelled
        return result

    return run


class SqlRepository:
    """Implements ServiceRepository and HistoryRepository on one SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.outages_seen = 0  # operations that found the database unavailable (for /health)

    @classmethod
    def from_url(cls, url: str) -> SqlRepository:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        else:
            engine = create_async_engine(
                url, pool_pre_ping=True, pool_size=10, hide_parameters=True
            )  # parameters (URLs, messages) stay out of error messages and logs
        return cls(engine)

    @property
    def safe_url(self) -> str:
        """The database URL without its password, for logs."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def create_schema(self) -> None:
        """Create or upgrade the tables to this version's schema (Alembic migrations)."""
        async with self._connect() as conn:
            await self.migrate(conn)

    async def migrate(self, conn: AsyncConnection) -> None:
        """Migrate within `conn`'s transaction. Servers starting together on one database
        take turns: each takes the database's lock before it looks at the schema, so the
        first migrates and the others find it current (else both would create the tables,
        and one would fail)."""
        if self.dialect == "sqlite":
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, now
        elif self.dialect == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await conn.run_sync(upgrade_to_head)

    async def drop_schema(self) -> None:
        async with self._connect() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all, tables=_TABLES)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")

    async def schema_revision(self) -> str | None:
        """The migration the database is at (None: not created yet)."""
        async with self._connect() as conn:
            return await conn.run_sync(current_revision)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    # -- services ------------------------------------------------------------------------

    @_runs_to_completion
    async def upsert_service(self, service: Service) -> None:
        async with self._connect() as conn:
            await self._upsert_service(conn, service)

    async def _upsert_service(self, conn: AsyncConnection, service: Service) -> None:
        values = ServiceRow.values(service)
        statement = self._insert(SERVICES)
        statement = statement.values(values).on_conflict_do_update(
            index_elements=["service_id"],
            set_={k: v for k, v in values.items() if k not in ("service_id", "registered_at")},
        )
        await conn.execute(statement)

    @_runs_to_completion
    async def delete_service(self, service_id: str) -> bool:
        async with self._connect() as conn:
            for table in (TRANSITIONS, ROLLUPS):
                await conn.execute(sa.delete(table).where(table.c.service_id == service_id))
            result = await conn.execute(
                sa.delete(SERVICES).where(SERVICES.c.service_id == service_id)
            )
        return bool(result.rowcount)

    async def list_services(self) -> list[Service]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(SERVICES))).mappings().all()
        return [ServiceRow.domain(row) for row in rows]

    # -- dependencies --------------------------------------------------------------------

    @_runs_to_completion
    async def upsert_dependency(self, dependency: Dependency) -> None:
        async with self._connect() as conn:
            await self._upsert_dependency(conn, dependency)

    async def _upsert_dependency(self, conn: AsyncConnection, dependency: Dependency) -> None:
        values = DependencyRow.values(dependency)
        statement = self._insert(DEPENDENCIES).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["source", "target"],
            set_={k: v for k, v in values.items() if k not in ("source", "target")},
        )
        await conn.execute(statement)

    @_runs_to_completion
    async def delete_dependency(self, source: str, target: str) -> bool:
        d = DEPENDENCIES.c
        async with self._connect() as conn:
            result = await conn.execute(
                sa.delete(DEPENDENCIES).where(d.source == source, d.target == target)
            )
        return bool(result.rowcount)

    async def list_dependencies(self) -> list[Dependency]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(DEPENDENCIES))).mappings().all()
        return [DependencyRow.domain(row) for row in rows]

    @_runs_to_completion
    async def save_catalog(
        self, services: Sequence[Service], dependencies: Sequence[Dependency]
    ) -> None:
        """Write services and dependencies in one transaction: all of them or none."""
        async with self._connect() as conn:
            for service in services:
                await self._upsert_service(conn, service)
            for dependency in dependencies:
                await self._upsert_dependency(conn, dependency)

    # -- event outbox --------------------------------------------------------------------

    @_runs_to_completion
    async def add_outbox(self, entries: Sequence[OutboxEntry]) -> None:
        rows = [OutboxRow.values(e) for e in entries]
        async with self._connect() as conn:
            await conn.execute(sa.insert(OUTBOX), rows)

    async def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        query = sa.select(OUTBOX).order_by(OUTBOX.c.id).limit(limit)
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [OutboxRow.domain(row) for row in rows]

    @_runs_to_completion
    async def delete_outbox(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        async with self._connect() as conn:
            await conn.execute(sa.delete(OUTBOX).where(OUTBOX.c.id.in_(list(ids))))

    async def outbox_backlog(self) -> int:
        async with self._connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(OUTBOX))
        return int(count or 0)

    # -- history -------------------------------------------------------------------------

    @_runs_to_completion
    async def add_transitions(self, changes: Sequence[StatusChange]) -> None:
        rows = [TransitionRow.values(c) for c in changes]
        async with self._connect() as conn:
            await conn.execute(sa.insert(TRANSITIONS), rows)

    async def list_transitions(self, service_id: str, limit: int) -> list[StatusChange]:
        t = TRANSITIONS.c
        query = (
            sa.select(TRANSITIONS)
            .where(t.service_id == service_id)
            .order_by(t.at.desc(), t.id.desc())
            .limit(limit)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [TransitionRow.domain(row) for row in rows]

    async def last_statuses(self) -> dict[str, HealthStatus]:
        t = TRANSITIONS.c
        latest = sa.select(sa.func.max(t.id).label("id")).group_by(t.service_id).subquery()
        query = sa.select(t.service_id, t.current).join(latest, t.id == latest.c.id)
        async with self._connect() as conn:
            rows = (await conn.execute(query)).all()
        return {service_id: HealthStatus(current) for service_id, current in rows}

    @_runs_to_completion
    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        rows = [RollupRow.values(r) for r in rollups]
        statement = self._insert(ROLLUPS)
        excluded = statement.excluded
        table = ROLLUPS.c
        statement = statement.on_conflict_do_update(
            index_elements=["service_id", "minute"],
            set_={
                "count": table.count + excluded.count,
                "missed": table.missed + excluded.missed,
                "latency_sum_ms": table.latency_sum_ms + excluded.latency_sum_ms,
                "latency_samples": table.latency_samples + excluded.latency_samples,
                "latency_max_ms": sa.func.greatest(table.latency_max_ms, excluded.latency_max_ms)
                if self.dialect == "postgresql"
                else sa.func.max(table.latency_max_ms, excluded.latency_max_ms),
            },
        )
        async with self._connect() as conn:
            await conn.execute(statement, rows)

    async def uptime_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        r = ROLLUPS.c
        query = (
            sa.select(r.service_id, sa.func.sum(r.count), sa.func.sum(r.missed))
            .where(r.minute >= since)
            .group_by(r.service_id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).all()
        return {service_id: (int(count), int(missed)) for service_id, count, missed in rows}

    # -- plumbing ------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; a refused value becomes StorageRefused, any other database
        failure StorageUnavailable."""
        try:
            async with self._engine.begin() as conn:
                yield conn
        except (SQLAlchemyError, OSError, UnicodeError) as exc:  # sqlite3 raises the last bare
            if _is_refusal(exc):
                log.warning("the database refused a write: %s", exc)
                raise StorageRefused(
                    f"The database refused the data: {_refusal_kind(exc)}"
                ) from exc
            log.warning("database error: %s", exc)
            self.outages_seen += 1
            raise StorageUnavailable(
                f"The database is unavailable ({type(exc).__name__}); try again shortly."
            ) from exc


def _is_refusal(exc: BaseException) -> bool:
    """Whether the database refused the data itself, so that the same write would fail
    again: a data exception or a broken constraint (SQLSTATE classes 22 and 23), or text the
    driver cannot encode. Everything else (connection lost, timeouts) is worth a retry."""
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return True
    cause: BaseException | None = exc
    for _ in range(8):  # SQLAlchemy → its adapter → the driver's exception
        if cause is None:
            break
        if isinstance(cause, UnicodeError | asyncpg.exceptions.DataError):
            return True
        if str(getattr(cause, "sqlstate", "") or "").startswith(("22", "23")):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _refusal_kind(exc: BaseException) -> str:
    """What kind of refusal, without the refused value (it could be a secret)."""
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return type(cause).__name__
