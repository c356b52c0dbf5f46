"""The ports the core talks through. Adapters implement them; the core never imports adapters."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from ose_mesh.domain import Dependency, EventMessage, HealthStatus, Service, StatusChange
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationTarget


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards. Used for all scheduling."""
        ...

    def wall(self) -> datetime:
        """The current UTC time, for timestamps users read."""
        ...


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    ok: bool
    latency_ms: float
    message: str | None = None
    # The service answered, even with an error (HTTP 500): it is alive. False when nothing
    # came back (refused, reset, unresolvable, timed out).
    answered: bool = True
    cert_not_after: float | None = None  # the TLS certificate's expiry (Unix seconds), if any


class Prober(Protocol):
    async def probe(self, service: Service) -> ProbeOutcome:
        """Check the service once (HTTP, TCP or gRPC). Must not raise for a failing service."""
        ...


class RootCauseReader(Protocol):
    """Where a service's trouble starts, given every status (the dependency graph): what
    the monitor writes into each transition, without depending on the dependency service."""

    def root_causes_of(
        self, service_id: str, statuses: Mapping[str, HealthStatus]
    ) -> list[str]: ...

    def root_causes(self, statuses: Mapping[str, HealthStatus]) -> dict[str, list[str]]:
        """The same for every troubled service at once."""
        ...


class StatusReader(Protocol):
    """Every watched service's live status and name (the heartbeat monitor)."""

    def statuses(self) -> dict[str, HealthStatus]: ...

    def names(self) -> dict[str, str]: ...


class ServiceRepository(Protocol):
    async def upsert_service(self, service: Service) -> None: ...

    async def delete_service(self, service_id: str) -> bool:
        """Remove the service and its history; False when it was not stored."""
        ...

    async def list_services(self) -> list[Service]: ...

    async def get_service(self, service_id: str) -> tuple[Service, int] | None:
        """The stored service and its row version (raised by every write), or None."""
        ...

    async def service_versions(self) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class BeatReceipt:
    """What a beat's sender is answered: the service's status after it."""

    status: HealthStatus
    heartbeat_count: int


class BeatRouter(Protocol):
    """Sends a beat to the replica that owns the service (cluster mode)."""

    async def forward(
        self, service_id: str, ok: bool, latency_ms: float | None, message: str | None
    ) -> BeatReceipt:
        """Raises Unavailable when the owner cannot be reached (the sender tries again)."""
        ...


class ChangeFeed(Protocol):
    """Tells the other replicas what this one changed in the database (cluster mode)."""

    def service_changed(self, service_id: str) -> None: ...

    def dependency_changed(self, source: str | None, target: str | None) -> None:
        """None for both: many services and edges changed at once (an import)."""
        ...


class DependencyRepository(Protocol):
    async def upsert_dependency(self, dependency: Dependency) -> None: ...

    async def delete_dependency(self, source: str, target: str) -> bool: ...

    async def get_dependency(self, source: str, target: str) -> Dependency | None: ...

    async def list_dependencies(self) -> list[Dependency]: ...

    async def save_catalog(
        self, services: Sequence[Service], dependencies: Sequence[Dependency]
    ) -> None:
        """Store services and dependencies in one transaction: all or nothing."""
        ...


@dataclass(frozen=True, slots=True)
class Rollup:
    """One service's heartbeats within one UTC minute."""

    service_id: str
    minute: datetime
    count: int
    missed: int
    latency_sum_ms: float
    latency_samples: int
    latency_max_ms: float


class HistoryRepository(Protocol):
    async def add_transitions(self, changes: Sequence[StatusChange]) -> None: ...

    async def list_transitions(self, service_id: str, limit: int) -> list[StatusChange]:
        """The newest `limit` transitions of a service, newest first."""
        ...

    async def transitions_since(self, since: datetime, limit: int) -> list[StatusChange]:
        """Every service's transitions at or after `since`, newest first, at most `limit`."""
        ...

    async def last_statuses(self) -> dict[str, HealthStatus]:
        """Each service's status after its latest stored transition."""
        ...

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        """Add to the stored minute rows (a minute flushed twice is summed, not replaced)."""
        ...

    async def uptime_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per service: (heartbeat count, missed) over minutes starting at or after `since`."""
        ...

    async def daily_uptime(
        self, service_ids: Sequence[str], since: datetime
    ) -> dict[str, dict[date, tuple[int, int]]]:
        """Per service and UTC day: (heartbeat count, missed) over minutes from `since`."""
        ...

    async def minute_rollups(self, service_id: str, since: datetime) -> list[Rollup]:
        """One service's stored minute rows from `since`, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published: written with the request that made it."""

    exchange: str
    routing_key: str
    event: EventMessage
    id: int | None = None


class MaintenanceRepository(Protocol):
    async def list_windows(self) -> list[MaintenanceWindow]: ...

    async def save_window(self, window: MaintenanceWindow) -> None:
        """Insert or replace."""
        ...

    async def delete_window(self, window_id: str) -> None: ...


class NotificationRepository(Protocol):
    async def list_targets(self) -> list[NotificationTarget]: ...

    async def save_target(self, target: NotificationTarget) -> None: ...

    async def delete_target(self, target_id: str) -> None:
        """The target and its delivery counts."""
        ...

    async def count_delivery(self, target_id: str, outcome: Delivery) -> DeliveryCounts:
        """Add one delivery (or failure) to the target's counts; the counts now."""
        ...

    async def delivery_counts(self) -> dict[str, DeliveryCounts]: ...

    async def set_told(self, target_id: str, service_id: str, status: HealthStatus | None) -> None:
        """Note that the target was told of the service's trouble (None: of its recovery,
        or of nothing): a replica taking the service over goes on from there."""
        ...

    async def told(self, service_ids: Collection[str]) -> dict[tuple[str, str], HealthStatus]:
        """(target_id, service_id) -> the status told, for these services."""
        ...


@dataclass(frozen=True, slots=True)
class Delivery:
    delivered: bool
    at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """How a target's notifications went, for the whole cluster."""

    delivered: int = 0
    failed: int = 0
    last_error: str | None = None
    last_sent_at: datetime | None = None


class OutboxRepository(Protocol):
    async def add_outbox(self, entries: Sequence[OutboxEntry], claimant: str | None = None) -> None:
        """Store entries; a `claimant` (the writing server's relay) publishes them first."""
        ...

    async def pending_outbox(self, limit: int, claimant: str | None = None) -> list[OutboxEntry]:
        """The oldest entries first. With a `claimant`: only those no other relay is
        publishing, now claimed for it for a while."""
        ...

    async def delete_outbox(self, ids: Sequence[int]) -> None: ...

    async def outbox_backlog(self) -> int: ...


class BusCounters(Protocol):
    @property
    def dead_lettered(self) -> int: ...


class EventBus(Protocol):
    """What the outbox relay publishes through (the SDK's MessageBus)."""

    @property
    def connected(self) -> bool: ...

    @property
    def stats(self) -> BusCounters: ...

    async def exchange_exists(self, name: str) -> bool:
        """Whether a publish to `name` can be routed (False while disconnected, for any but
        the standard exchanges, which every bus declares on connecting)."""
        ...

    async def publish_event(
        self,
        exchange: str,
        event: EventMessage,
        routing_key: str | None = None,
        *,
        headers: dict[str, Any] | None = None,
        persistent: bool = True,
        mandatory: bool = True,
    ) -> bool:
        """Publish with a confirm; False when no queue took it. Raises when the broker is
        unreachable or refuses the exchange."""
        ...


class DeliveryCounters(Protocol):
    @property
    def delivered(self) -> int: ...

    @property
    def failed(self) -> int: ...

    @property
    def last_error(self) -> str | None: ...


class Notifier(Protocol):
    """Where alerts about transitions go (the webhooks)."""

    @property
    def urls(self) -> list[str]: ...

    @property
    def stats(self) -> DeliveryCounters: ...


@dataclass(frozen=True, slots=True)
class Replica:
    """A server process using the database: alone ("single") or one of a cluster."""

    replica_id: str
    mode: str  # "single" or "cluster"
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredState:
    """A service's health state as its owner wrote it (see HealthState.snapshot)."""

    service_id: str
    status: HealthStatus
    snapshot: dict[str, Any]
    updated_at: datetime


class ReplicaRepository(Protocol):
    async def join(
        self,
        replica: Replica,
        lease_seconds: float,
        *,
        stale: Callable[[Replica], bool],
    ) -> list[Replica]:
        """Add `replica` unless a live one stands in its way (a single server beside
        anyone, a cluster replica beside a single server, the same id twice): those are
        returned and nothing is written. Rows past their expiry, or that `stale` says are
        left over from a dead process, are removed first. Servers joining at once take
        turns (a lock), so two can never both join alone."""
        ...

    async def renew(self, replica_id: str, lease_seconds: float) -> bool:
        """Push the expiry on; False when the row is gone (another server removed it)."""
        ...

    async def leave(self, replica_id: str) -> None: ...

    async def replicas(self) -> list[Replica]:
        """The live ones, oldest first."""
        ...


class ShardRepository(Protocol):
    async def balance(
        self, replica_id: str, shards: int, lease_seconds: float
    ) -> tuple[dict[int, int], int]:
        """One round of the shard leases, in one transaction: renew this replica's row and
        the unexpired shards it holds, take free or expired shards up to its fair share of
        the live cluster replicas. Returns ({shard: epoch} held, the fair share); nothing
        held when the replica's row is gone (it was taken for dead)."""
        ...

    async def release_shards(self, replica_id: str, shards: Sequence[int] | None = None) -> None:
        """Give shards back (all of them when None): a replica stopping, or holding more
        than its share."""
        ...

    async def shard_owners(self) -> dict[int, str]:
        """The live owner of each held shard."""
        ...


class StateRepository(Protocol):
    async def save_states(
        self, replica_id: str, states: Sequence[tuple[int, int, str, HealthStatus, dict[str, Any]]]
    ) -> int:
        """Write (shard, epoch, service_id, status, snapshot) rows, each only while this
        replica holds its shard at that epoch (fencing: a former owner's writes are
        refused). Returns how many were written."""
        ...

    async def load_states(self, service_ids: Sequence[str]) -> dict[str, StoredState]: ...


@dataclass(frozen=True, slots=True)
class StoredTraffic:
    """One replica's figures of an observed edge ("call") or a service's spans ("served")."""

    replica_id: str
    kind: str
    source: str
    target: str  # "" for "served"
    relationship: str
    figures: bytes  # Traffic.to_bytes()
    updated_at: datetime


class TrafficRepository(Protocol):
    async def save_traffic(self, rows: Sequence[StoredTraffic]) -> None:
        """Write (or overwrite) these rows."""
        ...

    async def traffic_since(
        self, since: datetime | None, other_than: str | None
    ) -> list[StoredTraffic]:
        """Rows written at or after `since` (None: all) by replicas other than
        `other_than` (None: every replica's)."""
        ...

    async def prune_traffic(self, before: datetime) -> int:
        """Delete rows nobody has written since `before`; returns how many."""
        ...
