"""SQL repositories for SQLite (aiosqlite) and PostgreSQL (asyncpg), one implementation.

Every database error is translated at this edge into StorageUnavailable, which the API
answers with 503; nothing else in the server knows about SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
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
    DeliveryCountRow,
    DependencyRow,
    MaintenanceRow,
    NotificationTargetRow,
    ObservedTrafficRow,
    OutboxRow,
    ReplicaRow,
    RollupRow,
    ServiceRow,
    ServiceStateRow,
    ShardLeaseRow,
    ToldRow,
    TransitionRow,
    _utc,
)
from ose_mesh.core import Rollup
from ose_mesh.core.membership import blocks
from ose_mesh.core.ports import (
    Delivery,
    DeliveryCounts,
    OutboxEntry,
    Replica,
    StoredState,
    StoredTraffic,
)
from ose_mesh.domain import (
    Dependency,
    HealthStatus,
    Service,
    StatusChange,
    StorageRefused,
    StorageUnavailable,
)
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationTarget

log = logging.getLogger(__name__)

SERVICES: sa.Table = ServiceRow.__table__  # type: ignore[attr-defined]
TRANSITIONS: sa.Table = TransitionRow.__table__  # type: ignore[attr-defined]
ROLLUPS: sa.Table = RollupRow.__table__  # type: ignore[attr-defined]
DEPENDENCIES: sa.Table = DependencyRow.__table__  # type: ignore[attr-defined]
OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
REPLICAS: sa.Table = ReplicaRow.__table__  # type: ignore[attr-defined]
SHARDS: sa.Table = ShardLeaseRow.__table__  # type: ignore[attr-defined]
STATES: sa.Table = ServiceStateRow.__table__  # type: ignore[attr-defined]
MAINTENANCE: sa.Table = MaintenanceRow.__table__  # type: ignore[attr-defined]
NOTIFICATION_TARGETS: sa.Table = NotificationTargetRow.__table__  # type: ignore[attr-defined]
DELIVERIES: sa.Table = DeliveryCountRow.__table__  # type: ignore[attr-defined]
TOLD: sa.Table = ToldRow.__table__  # type: ignore[attr-defined]
OBSERVED: sa.Table = ObservedTrafficRow.__table__  # type: ignore[attr-defined]
MIGRATION_LOCK = 0x05E_3E54  # PostgreSQL advisory lock key: one migration at a time
REPLICA_LOCK = 0x05E_3E55  # and one server joining at a time
# A relay that claimed outbox rows and died: another publishes them after this long.
OUTBOX_CLAIM_SECONDS = 30.0
_TABLES = [
    SERVICES,
    TRANSITIONS,
    ROLLUPS,
    DEPENDENCIES,
    OUTBOX,
    REPLICAS,
    SHARDS,
    STATES,
    MAINTENANCE,
    NOTIFICATION_TARGETS,
    DELIVERIES,
    TOLD,
    OBSERVED,
]


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
            set_={
                **{k: v for k, v in values.items() if k not in ("service_id", "registered_at")},
                "version": SERVICES.c.version + 1,
            },
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

    # -- maintenance windows -----------------------------------------------------------------

    async def list_windows(self) -> list[MaintenanceWindow]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(MAINTENANCE))).mappings().all()
        return [MaintenanceRow.domain(row) for row in rows]

    @_runs_to_completion
    async def save_window(self, window: MaintenanceWindow) -> None:
        values = MaintenanceRow.values(window)
        statement = self._insert(MAINTENANCE).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["window_id"],
            set_={k: v for k, v in values.items() if k != "window_id"},
        )
        async with self._connect() as conn:
            await conn.execute(statement)

    @_runs_to_completion
    async def delete_window(self, window_id: str) -> None:
        async with self._connect() as conn:
            await conn.execute(sa.delete(MAINTENANCE).where(MAINTENANCE.c.window_id == window_id))

    # -- notification targets ---------------------------------------------------------------

    async def list_targets(self) -> list[NotificationTarget]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(NOTIFICATION_TARGETS))).mappings().all()
        return [NotificationTargetRow.domain(row) for row in rows]

    @_runs_to_completion
    async def save_target(self, target: NotificationTarget) -> None:
        values = NotificationTargetRow.values(target)
        statement = self._insert(NOTIFICATION_TARGETS).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["target_id"],
            set_={k: v for k, v in values.items() if k != "target_id"},
        )
        async with self._connect() as conn:
            await conn.execute(statement)

    @_runs_to_completion
    async def delete_target(self, target_id: str) -> None:
        async with self._connect() as conn:
            for table in (NOTIFICATION_TARGETS, DELIVERIES, TOLD):
                await conn.execute(sa.delete(table).where(table.c.target_id == target_id))

    @_runs_to_completion
    async def count_delivery(self, target_id: str, outcome: Delivery) -> DeliveryCounts:
        values: dict[str, Any] = {
            "target_id": target_id,
            "delivered": int(outcome.delivered),
            "failed": int(not outcome.delivered),
        }
        if outcome.delivered:
            values["last_sent_at"] = outcome.at
        else:
            values["last_error"] = outcome.error
        statement = self._insert(DELIVERIES).values(values)
        excluded = statement.excluded
        changes: dict[str, Any] = {
            "delivered": DELIVERIES.c.delivered + excluded.delivered,
            "failed": DELIVERIES.c.failed + excluded.failed,
        }
        changes.update({k: excluded[k] for k in ("last_sent_at", "last_error") if k in values})
        statement = statement.on_conflict_do_update(index_elements=["target_id"], set_=changes)
        async with self._connect() as conn:
            await conn.execute(statement)
            row = (
                (
                    await conn.execute(
                        sa.select(DELIVERIES).where(DELIVERIES.c.target_id == target_id)
                    )
                )
                .mappings()
                .one()
            )
        return DeliveryCountRow.domain(row)

    @_runs_to_completion
    async def set_told(self, target_id: str, service_id: str, status: HealthStatus | None) -> None:
        async with self._connect() as conn:
            await conn.execute(
                sa.delete(TOLD).where(
                    TOLD.c.target_id == target_id, TOLD.c.service_id == service_id
                )
            )
            if status is not None:
                row = {"target_id": target_id, "service_id": service_id, "status": status.value}
                await conn.execute(sa.insert(TOLD).values(row))

    async def told(self, service_ids: Collection[str]) -> dict[tuple[str, str], HealthStatus]:
        found: dict[tuple[str, str], HealthStatus] = {}
        ids = list(service_ids)
        async with self._connect() as conn:
            for start in range(0, len(ids), 1000):  # bound the statement's parameters
                chunk = ids[start : start + 1000]
                rows = await conn.execute(sa.select(TOLD).where(TOLD.c.service_id.in_(chunk)))
                for row in rows.mappings():
                    key = (row["target_id"], row["service_id"])
                    found[key] = HealthStatus(row["status"])
        return found

    async def delivery_counts(self) -> dict[str, DeliveryCounts]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(DELIVERIES))).mappings().all()
        return {row["target_id"]: DeliveryCountRow.domain(row) for row in rows}

    async def list_services(self) -> list[Service]:
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(SERVICES))).mappings().all()
        return [ServiceRow.domain(row) for row in rows]

    async def service_versions(self) -> dict[str, int]:
        """Every stored service's row version (replicas compare theirs with it)."""
        s = SERVICES.c
        async with self._connect() as conn:
            rows = (await conn.execute(sa.select(s.service_id, s.version))).all()
        return dict(rows)

    async def get_service(self, service_id: str) -> tuple[Service, int] | None:
        """The stored service and its row version, or None."""
        query = sa.select(SERVICES).where(SERVICES.c.service_id == service_id)
        async with self._connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else (ServiceRow.domain(row), row["version"])

    async def get_dependency(self, source: str, target: str) -> Dependency | None:
        d = DEPENDENCIES.c
        query = sa.select(DEPENDENCIES).where(d.source == source, d.target == target)
        async with self._connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else DependencyRow.domain(row)

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
    async def add_outbox(self, entries: Sequence[OutboxEntry], claimant: str | None = None) -> None:
        """Store entries; a `claimant` (the writing server's relay) publishes them first."""
        claimed_until = _in(OUTBOX_CLAIM_SECONDS) if claimant else None
        rows = [
            {**OutboxRow.values(e), "claimed_by": claimant, "claimed_until": claimed_until}
            for e in entries
        ]
        async with self._connect() as conn:
            await conn.execute(sa.insert(OUTBOX), rows)

    @_runs_to_completion  # with a claimant, a write
    async def pending_outbox(self, limit: int, claimant: str | None = None) -> list[OutboxEntry]:
        """The oldest entries. With a `claimant`, only those nobody else is publishing
        (unclaimed, its own, or a claim run out), now claimed for it: with several
        servers on one database each row goes to one relay (PostgreSQL: SKIP LOCKED)."""
        o = OUTBOX.c
        if claimant is None:
            query = sa.select(OUTBOX).order_by(o.id).limit(limit)
            async with self._connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
            return [OutboxRow.domain(row) for row in rows]
        now = datetime.now(UTC)
        free = (
            sa.select(o.id)
            .where(sa.or_(o.claimed_by.is_(None), o.claimed_by == claimant, o.claimed_until < now))
            .order_by(o.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            free = free.with_for_update(skip_locked=True)
        claim = (
            sa.update(OUTBOX)
            .where(o.id.in_(free.scalar_subquery()))
            .values(claimed_by=claimant, claimed_until=_in(OUTBOX_CLAIM_SECONDS))
            .returning(*OUTBOX.c)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(claim)).mappings().all()
        return sorted((OutboxRow.domain(row) for row in rows), key=lambda e: e.id or 0)

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

    async def transitions_since(self, since: datetime, limit: int) -> list[StatusChange]:
        t = TRANSITIONS.c
        query = (
            sa.select(TRANSITIONS)
            .where(t.at >= since)
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

    async def daily_uptime(
        self, service_ids: Sequence[str], since: datetime
    ) -> dict[str, dict[date, tuple[int, int]]]:
        r = ROLLUPS.c
        day = (
            sa.cast(sa.func.timezone("UTC", r.minute), sa.Date)
            if self.dialect == "postgresql"
            else sa.func.date(r.minute)  # SQLite keeps UTC times as text
        ).label("day")
        query = (
            sa.select(r.service_id, day, sa.func.sum(r.count), sa.func.sum(r.missed))
            .where(r.service_id.in_(service_ids), r.minute >= since)
            .group_by(r.service_id, day)
        )
        found: dict[str, dict[date, tuple[int, int]]] = {}
        async with self._connect() as conn:
            for service_id, when, count, missed in (await conn.execute(query)).all():
                when = when if isinstance(when, date) else date.fromisoformat(when)
                found.setdefault(service_id, {})[when] = (int(count), int(missed))
        return found

    async def minute_rollups(self, service_id: str, since: datetime) -> list[Rollup]:
        r = ROLLUPS.c
        query = (
            sa.select(ROLLUPS)
            .where(r.service_id == service_id, r.minute >= since)
            .order_by(r.minute)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [RollupRow.domain(row) for row in rows]

    # -- replicas and leases -------------------------------------------------------------

    @_runs_to_completion
    async def join(
        self,
        replica: Replica,
        lease_seconds: float,
        *,
        stale: Callable[[Replica], bool],
    ) -> list[Replica]:
        r = REPLICAS.c
        async with self._connect() as conn:
            await self._lock(conn, REPLICA_LOCK)
            now = datetime.now(UTC)
            await conn.execute(sa.delete(REPLICAS).where(r.expires_at <= now))
            rows = (await conn.execute(sa.select(REPLICAS))).mappings().all()
            others = [ReplicaRow.domain(row) for row in rows]
            left_over = [o.replica_id for o in others if stale(o)]
            if left_over:
                await conn.execute(sa.delete(REPLICAS).where(r.replica_id.in_(left_over)))
            live = [o for o in others if o.replica_id not in left_over]
            blocking = [o for o in live if blocks(replica, o)]
            if blocking:
                return blocking
            await conn.execute(
                sa.insert(REPLICAS).values(
                    replica_id=replica.replica_id,
                    mode=replica.mode,
                    host=replica.host,
                    pid=replica.pid,
                    started_at=now,
                    last_seen=now,
                    expires_at=now + timedelta(seconds=lease_seconds),
                )
            )
        return []

    @_runs_to_completion
    async def renew(self, replica_id: str, lease_seconds: float) -> bool:
        async with self._connect() as conn:
            return await self._renew(conn, replica_id, lease_seconds)

    async def _renew(self, conn: AsyncConnection, replica_id: str, lease_seconds: float) -> bool:
        now = datetime.now(UTC)
        result = await conn.execute(
            sa.update(REPLICAS)
            .where(REPLICAS.c.replica_id == replica_id)
            .values(last_seen=now, expires_at=now + timedelta(seconds=lease_seconds))
        )
        return bool(result.rowcount)

    @_runs_to_completion
    async def leave(self, replica_id: str) -> None:
        async with self._connect() as conn:
            await conn.execute(sa.delete(REPLICAS).where(REPLICAS.c.replica_id == replica_id))

    async def replicas(self) -> list[Replica]:
        r = REPLICAS.c
        query = (
            sa.select(REPLICAS)
            .where(r.expires_at > datetime.now(UTC))
            .order_by(r.started_at, r.replica_id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [ReplicaRow.domain(row) for row in rows]

    @_runs_to_completion
    async def balance(
        self, replica_id: str, shards: int, lease_seconds: float
    ) -> tuple[dict[int, int], int]:
        """See ShardRepository.balance. Held shards are renewed only while unexpired: one
        that ran out may already be another's (taking it again raises its epoch)."""
        s, r = SHARDS.c, REPLICAS.c
        async with self._connect() as conn:
            now = datetime.now(UTC)
            until = now + timedelta(seconds=lease_seconds)
            if not await self._renew(conn, replica_id, lease_seconds):
                return {}, 0  # removed as dead: rejoin before holding anything
            known = await conn.scalar(sa.select(sa.func.count()).select_from(SHARDS))
            if (known or 0) < shards:
                rows = [{"shard": n, "owner": None, "epoch": 0} for n in range(shards)]
                statement = self._insert(SHARDS).on_conflict_do_nothing(index_elements=["shard"])
                await conn.execute(statement, rows)
            members = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(REPLICAS)
                .where(r.mode == "cluster", r.expires_at > now)
            )
            fair = math.ceil(shards / max(1, members or 1))
            held = await conn.execute(
                sa.update(SHARDS)
                .where(s.owner == replica_id, s.expires_at > now, s.shard < shards)
                .values(expires_at=until)
                .returning(s.shard, s.epoch)
            )
            owned: dict[int, int] = dict(held.all())
            wanted = fair - len(owned)
            if wanted > 0:
                free = (
                    sa.select(s.shard)
                    .where(
                        s.shard < shards,
                        sa.or_(s.owner.is_(None), s.expires_at.is_(None), s.expires_at <= now),
                    )
                    .order_by(s.shard)
                    .limit(wanted)
                    .with_for_update(skip_locked=True)
                )
                taken = await conn.execute(
                    sa.update(SHARDS)
                    .where(s.shard.in_(free.scalar_subquery()))
                    .values(owner=replica_id, epoch=s.epoch + 1, expires_at=until)
                    .returning(s.shard, s.epoch)
                )
                owned.update(taken.all())
            return owned, fair

    @_runs_to_completion
    async def release_shards(self, replica_id: str, shards: Sequence[int] | None = None) -> None:
        s = SHARDS.c
        condition = s.owner == replica_id
        if shards is not None:
            condition = sa.and_(condition, s.shard.in_(list(shards)))
        async with self._connect() as conn:
            await conn.execute(
                sa.update(SHARDS).where(condition).values(owner=None, expires_at=None)
            )

    async def shard_owners(self) -> dict[int, str]:
        s = SHARDS.c
        query = sa.select(s.shard, s.owner).where(
            s.owner.is_not(None), s.expires_at > datetime.now(UTC)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).all()
        return dict(rows)

    @_runs_to_completion
    async def save_states(
        self,
        replica_id: str,
        states: Sequence[tuple[int, int, str, HealthStatus, dict[str, Any]]],
    ) -> int:
        """See StateRepository.save_states. The leases read are locked (FOR SHARE) until
        the write commits, so a takeover waits for it and then reads what it wrote."""
        if not states:
            return 0
        s = SHARDS.c
        async with self._connect() as conn:
            now = datetime.now(UTC)
            query = sa.select(s.shard, s.epoch).where(s.owner == replica_id, s.expires_at > now)
            if self.dialect == "postgresql":
                query = query.with_for_update(read=True)
            held = dict((await conn.execute(query)).all())
            rows = [
                {
                    "service_id": service_id,
                    "shard": shard,
                    "epoch": epoch,
                    "status": status.value,
                    "snapshot": json.dumps(snapshot),
                    "updated_at": now,
                }
                for shard, epoch, service_id, status, snapshot in states
                if held.get(shard) == epoch
            ]
            if rows:
                statement = self._insert(STATES)
                statement = statement.on_conflict_do_update(
                    index_elements=["service_id"],
                    set_={
                        name: statement.excluded[name]
                        for name in ("shard", "epoch", "status", "snapshot", "updated_at")
                    },
                )
                await conn.execute(statement, rows)
        return len(rows)

    async def load_states(self, service_ids: Sequence[str]) -> dict[str, StoredState]:
        found: dict[str, StoredState] = {}
        ids = list(service_ids)
        async with self._connect() as conn:
            for start in range(0, len(ids), 1000):
                query = sa.select(STATES).where(STATES.c.service_id.in_(ids[start : start + 1000]))
                for row in (await conn.execute(query)).mappings():
                    found[row["service_id"]] = StoredState(
                        row["service_id"],
                        HealthStatus(row["status"]),
                        json.loads(row["snapshot"]),
                        _utc(row["updated_at"]),
                    )
        return found

    # -- traffic seen in traces ------------------------------------------------------------

    async def save_traffic(self, rows: Sequence[StoredTraffic]) -> None:
        if not rows:
            return
        values = [
            {
                "replica_id": row.replica_id,
                "kind": row.kind,
                "source": row.source,
                "target": row.target,
                "relationship": row.relationship,
                "figures": row.figures,
                "updated_at": row.updated_at,
            }
            for row in rows
        ]
        async with self._connect() as conn:
            statement = self._insert(OBSERVED)
            statement = statement.on_conflict_do_update(
                index_elements=["replica_id", "kind", "source", "target"],
                set_={
                    name: statement.excluded[name]
                    for name in ("relationship", "figures", "updated_at")
                },
            )
            await conn.execute(statement, values)

    async def traffic_since(
        self, since: datetime | None, other_than: str | None
    ) -> list[StoredTraffic]:
        o = OBSERVED.c
        query = sa.select(OBSERVED)
        if other_than is not None:
            query = query.where(o.replica_id != other_than)
        if since is not None:
            query = query.where(o.updated_at >= since)
        async with self._connect() as conn:
            return [
                StoredTraffic(
                    row["replica_id"],
                    row["kind"],
                    row["source"],
                    row["target"],
                    row["relationship"],
                    bytes(row["figures"]),
                    _utc(row["updated_at"]),
                )
                for row in (await conn.execute(query)).mappings()
            ]

    async def prune_traffic(self, before: datetime) -> int:
        async with self._connect() as conn:
            result = await conn.execute(sa.delete(OBSERVED).where(OBSERVED.c.updated_at < before))
        return int(result.rowcount or 0)

    # -- plumbing ------------------------------------------------------------------------

    async def _lock(self, conn: AsyncConnection, key: int) -> None:
        """Take the database's write lock (SQLite) or the advisory lock `key` (PostgreSQL)
        until the transaction ends."""
        if self.dialect == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self.dialect == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({key})")

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


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _blocks(joining: Replica, other: Replica) -> bool:
    """Whether a live `other` keeps `joining` out: a single server shares its database
    with no one, and no two replicas may have one id."""
    return (
        joining.mode == "single" or other.mode == "single" or other.replica_id == joining.replica_id
    )


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
