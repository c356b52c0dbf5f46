"""Building the server's parts from Settings: one place, used by the app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from ose_mesh.adapters.bus import AmqpBroker, Broker, MemoryBroker
from ose_mesh.adapters.db import SqlRepository
from ose_mesh.adapters.probes import NetworkProber
from ose_mesh.adapters.rabbitmq_management import ManagementClient
from ose_mesh.adapters.server_bus import ServerBus
from ose_mesh.adapters.webhooks import WebhookNotifier
from ose_mesh.api.context import MeshServices
from ose_mesh.bus import MessageBus
from ose_mesh.config import Settings
from ose_mesh.core import (
    Clock,
    DependencyGraph,
    DependencyService,
    EventHub,
    HealthQueries,
    HeartbeatMonitor,
    HistoryRecorder,
    Prober,
    ServiceRegistry,
    SystemClock,
)
from ose_mesh.core.catalog import CatalogImporter
from ose_mesh.core.events import EventLog, EventService, OutboxRelay
from ose_mesh.domain import CheckConfig


@dataclass(frozen=True, slots=True)
class Mesh:
    services: MeshServices
    repository: SqlRepository
    catalog: CatalogImporter
    defaults: CheckConfig
    network_prober: NetworkProber | None
    relay: OutboxRelay

    async def open(self) -> tuple[int, int]:
        """Create the schema and restore services and dependencies; returns their counts."""
        await self.repository.create_schema()
        restored = await self.services.registry.restore()
        edges = await self.services.dependencies.restore()
        return restored, edges

    async def close(self) -> None:
        await self.services.bus.bus.close()
        await self.services.history.flush()
        if self.network_prober is not None:
            await self.network_prober.close()
        await self.repository.close()


def _management(settings: Settings) -> ManagementClient | None:
    if not settings.rabbitmq_management_url:
        return None
    return ManagementClient(
        settings.rabbitmq_management_url,
        settings.rabbitmq_user,
        settings.rabbitmq_pass,
        settings.rabbitmq_vhost,
    )


def build_mesh(
    settings: Settings,
    *,
    clock: Clock | None = None,
    prober: Prober | None = None,
    broker: Broker | None = None,
) -> Mesh:
    clock = clock or SystemClock()
    repository = SqlRepository.from_url(settings.database_url)
    network_prober = None
    if prober is None:
        prober = network_prober = NetworkProber(policy=settings.probe_policy())
    hub = EventHub()
    history = HistoryRecorder(clock, repository)
    monitor = HeartbeatMonitor(
        clock, prober, hub, history, max_concurrent_probes=settings.max_concurrent_probes
    )
    defaults = CheckConfig(
        interval_seconds=settings.heartbeat_interval,
        timeout_seconds=settings.heartbeat_timeout,
        max_failures=settings.heartbeat_max_failures,
    )
    graph = DependencyGraph()
    registry = ServiceRegistry(
        repository, repository, monitor, history, hub, clock, defaults, graph
    )
    dependencies = DependencyService(repository, graph, monitor, hub)
    monitor.set_root_cause_finder(dependencies.root_causes_of)
    queries = HealthQueries(monitor, history, repository, clock)
    bus_settings = settings.bus()
    if broker is None:
        broker = AmqpBroker(bus_settings.url) if bus_settings.backend == "amqp" else MemoryBroker()
    event_log = EventLog(hub)
    message_bus = MessageBus(broker, name="service-mesh")
    relay = OutboxRelay(repository, message_bus, event_log)
    services = MeshServices(
        registry,
        queries,
        monitor,
        history,
        hub,
        clock,
        dependencies,
        events=EventService(repository, relay),
        event_log=event_log,
        bus=ServerBus(message_bus, bus_settings, event_log, _management(settings)),
        outbox=repository,
        relay_stats=relay.stats,
        webhooks=WebhookNotifier(settings.webhooks),
    )
    catalog = CatalogImporter(registry, dependencies, repository)
    return Mesh(services, repository, catalog, defaults, network_prober, relay)
