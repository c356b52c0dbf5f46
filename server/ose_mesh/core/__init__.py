"""Use cases: registry, heartbeat monitor, history, event hub. No framework imports here."""

from ose_mesh.core.clock import ManualClock, SystemClock
from ose_mesh.core.health_state import HealthState
from ose_mesh.core.history import HistoryRecorder
from ose_mesh.core.hub import HEARTBEAT, REGISTRY, STATUS, EventHub, Subscription
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import (
    Clock,
    HistoryRepository,
    ProbeOutcome,
    Prober,
    Rollup,
    ServiceRepository,
)
from ose_mesh.core.registry import RegistryEvent, ServiceRegistry, ServiceSpec
from ose_mesh.core.views import (
    MAX_HISTORY,
    MAX_PAGE,
    HealthQueries,
    HealthSummary,
    HeartbeatMetrics,
    ServiceHealth,
)

__all__ = [
    "HEARTBEAT",
    "MAX_HISTORY",
    "MAX_PAGE",
    "REGISTRY",
    "STATUS",
    "Clock",
    "EventHub",
    "HealthQueries",
    "HealthState",
    "HealthSummary",
    "HeartbeatMetrics",
    "HeartbeatMonitor",
    "HistoryRecorder",
    "HistoryRepository",
    "ManualClock",
    "ProbeOutcome",
    "Prober",
    "RegistryEvent",
    "Rollup",
    "ServiceHealth",
    "ServiceRegistry",
    "ServiceRepository",
    "ServiceSpec",
    "Subscription",
    "SystemClock",
]
