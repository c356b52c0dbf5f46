"""The core services every transport uses, built once by app.py."""

from __future__ import annotations

from dataclasses import dataclass

from ose_mesh.adapters.server_bus import ServerBus
from ose_mesh.adapters.webhooks import WebhookNotifier
from ose_mesh.core import (
    Clock,
    DependencyService,
    EventHub,
    HealthQueries,
    HeartbeatMonitor,
    HistoryRecorder,
    ServiceRegistry,
)
from ose_mesh.core.events import EventLog, EventService, RelayStats
from ose_mesh.core.ports import OutboxRepository


@dataclass(frozen=True, slots=True)
class MeshServices:
    registry: ServiceRegistry
    queries: HealthQueries
    monitor: HeartbeatMonitor
    history: HistoryRecorder
    hub: EventHub
    clock: Clock
    dependencies: DependencyService
    events: EventService
    event_log: EventLog
    bus: ServerBus
    outbox: OutboxRepository
    relay_stats: RelayStats
    webhooks: WebhookNotifier

    def names(self) -> dict[str, str]:
        return {
            state.service.service_id: state.service.service_name for state in self.monitor.states()
        }
