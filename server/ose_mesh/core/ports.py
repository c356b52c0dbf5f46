"""The ports the core talks through. Adapters implement them; the core never imports adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ose_mesh.domain import Dependency, EventMessage, HealthStatus, Service, StatusChange


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


class Prober(Protocol):
    async def probe(self, service: Service) -> ProbeOutcome:
        """Check the service once (HTTP or TCP). Must not raise for a failing service."""
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


class DependencyRepository(Protocol):
    async def upsert_dependency(self, dependency: Dependency) -> None: ...

    async def delete_dependency(self, source: str, target: str) -> bool: ...

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

    async def last_statuses(self) -> dict[str, HealthStatus]:
        """Each service's status after its latest stored transition."""
        ...

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        """Add to the stored minute rows (a minute flushed twice is summed, not replaced)."""
        ...

    async def uptime_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per service: (heartbeat count, missed) over minutes starting at or after `since`."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published: written with the request that made it."""

    exchange: str
    routing_key: str
    event: EventMessage
    id: int | None = None


class OutboxRepository(Protocol):
    async def add_outbox(self, entries: Sequence[OutboxEntry]) -> None: ...

    async def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        """The oldest entries first."""
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
