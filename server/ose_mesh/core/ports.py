"""The ports the core talks through. Adapters implement them; the core never imports adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ose_mesh.domain import Dependency, HealthStatus, Service, StatusChange


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


class Prober(Protocol):
    async def probe(self, service: Service) -> ProbeOutcome:
        """Check the service once (HTTP or TCP). Must not raise for a failing service."""
        ...


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
