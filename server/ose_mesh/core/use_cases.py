"""What the transports (REST, GraphQL, web pages) are given: the use cases, nothing else.

`bootstrap.build_mesh` makes the one instance; a route or resolver parses its input, makes
one call on one of these and maps the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from ose_mesh.core.bus_status import BusQueries
from ose_mesh.core.cluster import ClusterQueries
from ose_mesh.core.dependencies import DependencyService
from ose_mesh.core.event_log import EventLog
from ose_mesh.core.hub import EventHub
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.core.notifications import NotificationCenter
from ose_mesh.core.observations import Observations
from ose_mesh.core.outbox import EventService
from ose_mesh.core.registry import ServiceRegistry
from ose_mesh.core.status_page import StatusPageQueries
from ose_mesh.core.views import HealthQueries


@dataclass(frozen=True, slots=True)
class UseCases:
    registry: ServiceRegistry  # register, update, deregister, beat
    health: HealthQueries  # every read of services' health, root causes included
    dependencies: DependencyService  # declare, remove, and every read of the graph
    events: EventService  # publish
    event_log: EventLog  # recent events
    bus: BusQueries  # the bus's status and topology
    hub: EventHub  # live changes, for subscriptions
    cluster: ClusterQueries  # the servers on the database and what each checks
    status_page: StatusPageQueries  # the public services, for the open status page
    maintenance: MaintenanceSchedule  # maintenance windows
    notifications: NotificationCenter  # where transitions are sent, and how it went
    observations: Observations  # traces in; observed edges, drift, health from traffic
