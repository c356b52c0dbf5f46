"""The use cases and their ports: registry, heartbeat monitor, history, dependencies, events.
No framework imports here; adapters implement the ports (core/ports.py, core/broker.py)."""

from ose_mesh.core.clock import ManualClock, SystemClock
from ose_mesh.core.dependencies import DependencyService, GraphChange
from ose_mesh.core.graph import DependencyGraph
from ose_mesh.core.graph_model import (
    DIRECTION_ALIASES,
    Cycle,
    Direction,
    EdgeTraffic,
    EdgeView,
    GraphSummary,
    GraphView,
    Hub,
    Impact,
    ImpactEntry,
    Neighbourhood,
    Node,
    NodeView,
    ObservedEdgeView,
    Reached,
    ReachedView,
    TrafficWindow,
)
from ose_mesh.core.health_state import HealthState
from ose_mesh.core.history import HistoryRecorder
from ose_mesh.core.hub import GRAPH, HEARTBEAT, REGISTRY, STATUS, EventHub, Subscription
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import (
    Clock,
    DependencyRepository,
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
    HealthPage,
    HealthQueries,
    HealthSummary,
    HeartbeatMetrics,
    ServiceHealth,
    StatusCounts,
)

__all__ = [
    "DIRECTION_ALIASES",
    "GRAPH",
    "HEARTBEAT",
    "MAX_HISTORY",
    "MAX_PAGE",
    "REGISTRY",
    "STATUS",
    "Clock",
    "Cycle",
    "DependencyGraph",
    "DependencyRepository",
    "DependencyService",
    "Direction",
    "EdgeTraffic",
    "EdgeView",
    "EventHub",
    "GraphChange",
    "GraphSummary",
    "GraphView",
    "HealthPage",
    "HealthQueries",
    "HealthState",
    "HealthSummary",
    "HeartbeatMetrics",
    "HeartbeatMonitor",
    "HistoryRecorder",
    "HistoryRepository",
    "Hub",
    "Impact",
    "ImpactEntry",
    "ManualClock",
    "Neighbourhood",
    "Node",
    "NodeView",
    "ObservedEdgeView",
    "ProbeOutcome",
    "Prober",
    "Reached",
    "ReachedView",
    "RegistryEvent",
    "Rollup",
    "ServiceHealth",
    "ServiceRegistry",
    "ServiceRepository",
    "ServiceSpec",
    "StatusCounts",
    "Subscription",
    "SystemClock",
    "TrafficWindow",
]
