"""The pure model: services, checks, statuses and errors. Standard library only, but for
jsonpath-ng, the language of an HTTP check's JSON assertions."""

from ose_mesh.domain.assertions import HttpAssertions
from ose_mesh.domain.dependency import (
    CIRCULAR,
    Dependency,
    DependencyType,
    Relationship,
    parse_dependency_type,
    parse_relationship,
)
from ose_mesh.domain.errors import (
    DependencyNotFound,
    DomainError,
    EventRefused,
    InvalidField,
    MaintenanceWindowNotFound,
    NotificationTargetNotFound,
    ObservedEdgeNotFound,
    ServiceNotFound,
    StatusPageNotFound,
    StorageRefused,
    StorageUnavailable,
    Unavailable,
    UnknownExchange,
)
from ose_mesh.domain.events import EventMessage, MessagePriority, exact_priority
from ose_mesh.domain.health import CheckType, HealthStatus, HeartbeatResult, StatusChange
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationTarget
from ose_mesh.domain.service import (
    CLUSTERS,
    CheckConfig,
    Service,
    validate_service_id,
)
from ose_mesh.domain.text import storable

__all__ = [
    "CIRCULAR",
    "CLUSTERS",
    "CheckConfig",
    "CheckType",
    "Dependency",
    "DependencyNotFound",
    "DependencyType",
    "DomainError",
    "EventMessage",
    "EventRefused",
    "HealthStatus",
    "HeartbeatResult",
    "HttpAssertions",
    "InvalidField",
    "MaintenanceWindow",
    "MaintenanceWindowNotFound",
    "MessagePriority",
    "NotificationTarget",
    "NotificationTargetNotFound",
    "ObservedEdgeNotFound",
    "Relationship",
    "Service",
    "ServiceNotFound",
    "StatusChange",
    "StatusPageNotFound",
    "StorageRefused",
    "StorageUnavailable",
    "Unavailable",
    "UnknownExchange",
    "exact_priority",
    "parse_dependency_type",
    "parse_relationship",
    "storable",
    "validate_service_id",
]
