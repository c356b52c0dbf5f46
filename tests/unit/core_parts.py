"""The core wired over in-memory fakes and a manual clock, for unit tests: no sockets, no
files, no sleeps."""

from __future__ import annotations

from dataclasses import dataclass

from ose_mesh.core import (
    DependencyGraph,
    DependencyService,
    EventHub,
    HealthQueries,
    HeartbeatMonitor,
    HistoryRecorder,
    ManualClock,
    ServiceRegistry,
)
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.domain import CheckConfig
from tests.fakes import MemoryRepository, ScriptedProber


@dataclass
class Core:
    clock: ManualClock
    prober: ScriptedProber
    store: MemoryRepository
    hub: EventHub
    history: HistoryRecorder
    monitor: HeartbeatMonitor
    registry: ServiceRegistry
    dependencies: DependencyService
    health: HealthQueries
    maintenance: MaintenanceSchedule


def build_core(store: MemoryRepository | None = None) -> Core:
    clock, prober = ManualClock(), ScriptedProber()
    store = store or MemoryRepository()
    hub, graph = EventHub(), DependencyGraph()
    history = HistoryRecorder(clock, store)
    maintenance = MaintenanceSchedule(store, clock, lambda: (s.service for s in monitor.states()))
    monitor = HeartbeatMonitor(
        clock, prober, hub, history, causes=graph, in_maintenance=maintenance.in_maintenance
    )
    defaults = CheckConfig(interval_seconds=10, timeout_seconds=30, max_failures=3)
    registry = ServiceRegistry(store, store, monitor, history, hub, clock, defaults, graph)
    return Core(
        clock,
        prober,
        store,
        hub,
        history,
        monitor,
        registry,
        DependencyService(store, graph, monitor, hub),
        HealthQueries(monitor, history, store, clock, graph, maintenance),
        maintenance,
    )
