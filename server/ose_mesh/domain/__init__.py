"""The pure model: services, checks, statuses and errors. Standard library only."""

from ose_mesh.domain.errors import DomainError, InvalidField, ServiceNotFound, StorageUnavailable
from ose_mesh.domain.health import CheckType, HealthStatus, HeartbeatResult, StatusChange
from ose_mesh.domain.service import (
    CLUSTERS,
    CheckConfig,
    Service,
    validate_service_id,
)

__all__ = [
    "CLUSTERS",
    "CheckConfig",
    "CheckType",
    "DomainError",
    "HealthStatus",
    "HeartbeatResult",
    "InvalidField",
    "Service",
    "ServiceNotFound",
    "StatusChange",
    "StorageUnavailable",
    "validate_service_id",
]
