"""The errors the core raises; adapters translate them to HTTP statuses and GraphQL results."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceNotFound(DomainError):
    def __init__(self, service_id: str) -> None:
        super().__init__(f"Service '{service_id}' is not registered.")
        self.service_id = service_id


class DependencyNotFound(DomainError):
    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"No dependency from '{source}' to '{target}'.")
        self.source = source
        self.target = target


class ObservedEdgeNotFound(DependencyNotFound):
    """An edge to accept as declared that traces have not shown."""

    def __init__(self, source: str, target: str) -> None:
        DomainError.__init__(self, f"No call from '{source}' to '{target}' seen in traces.")
        self.source = source
        self.target = target


class StatusPageNotFound(DomainError):
    """No public service in the cluster asked for. An unknown cluster gets the same answer,
    so the open status page does not tell which private clusters exist."""

    def __init__(self, cluster: str) -> None:
        super().__init__(f"No status page for '{cluster}': it has no public services.")


class MaintenanceWindowNotFound(DomainError):
    def __init__(self, window_id: str) -> None:
        super().__init__(f"No maintenance window '{window_id}'.")
        self.window_id = window_id


class NotificationTargetNotFound(DomainError):
    def __init__(self, target_id: str) -> None:
        super().__init__(f"No notification target '{target_id}'.")
        self.target_id = target_id


class InvalidField(DomainError):
    """A value the caller sent breaks a rule; `field` names the input field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class UnknownExchange(DomainError):
    def __init__(self, exchange: str) -> None:
        super().__init__(f"Exchange '{exchange}' does not exist.")
        self.exchange = exchange


class EventRefused(DomainError):
    """The broker refused an event (for instance its exchange was deleted meanwhile)."""


class Unavailable(DomainError):
    """Something the server depends on cannot be reached; the request may be retried."""

    retry_after_seconds = 1  # what the answer's Retry-After says


class StorageUnavailable(Unavailable):
    """The database cannot be reached; the request may be retried later."""


class StorageRefused(DomainError):
    """The database refused the data itself (a value it cannot store, a broken constraint):
    the same write would fail again, so it is not retried."""
