"""A monitored service and how it is checked, with the rules every input must satisfy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from ose_mesh.domain.addresses import never_probed, parse_address
from ose_mesh.domain.assertions import HttpAssertions
from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.health import CheckType
from ose_mesh.domain.labels import Labels, as_labels
from ose_mesh.domain.text import storable

SERVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
HOST_PATTERN = re.compile(r"\[?[A-Za-z0-9._:%-]{1,253}\]?")  # names, IPv4, [IPv6%zone]
NUMERIC_HOST = re.compile(r"[0-9.]+|(?:[0-9.]*0[xX][0-9a-fA-F]*[0-9.]*)+")
MAX_INTERVAL_SECONDS = 86_400
# Checks more often than once a second are noise, and a tiny interval would have the
# scheduler spin: the grid could not advance in floating point.
MIN_INTERVAL_SECONDS = 1.0
MAX_NAME_LENGTH = 200
MAX_COUNT = 10_000  # max_failures, recovery_successes: beyond this, time decides anyway
MAX_CERT_EXPIRY_DAYS = 3650
DEFAULT_TRACE_ERROR_PERCENT = 5.0
CLUSTERS = ("core", "utility", "infrastructure", "monitoring", "configuration")


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """How and how often a service is checked, and when its status changes."""

    check_type: CheckType = CheckType.PUSH
    interval_seconds: float = 10
    timeout_seconds: float = 30
    max_failures: int = 3
    probe_timeout_seconds: float = 5
    recovery_successes: int = 1
    latency_threshold_ms: float | None = None
    health_url: str | None = None
    host: str | None = None
    port: int | None = None
    grpc_service: str | None = None  # the name asked of grpc.health.v1.Health/Check
    tls: bool = False  # gRPC over TLS (an HTTP check's TLS is its URL's https)
    # Days before a TLS certificate expires at which the service turns degraded; 0: never.
    cert_expiry_days: int = 14
    assertions: HttpAssertions | None = None
    # check_type 'traces': the share of failed server spans over which a check fails.
    trace_error_percent: float | None = None

    def validated(self) -> CheckConfig:
        """Return self if every rule holds, else raise InvalidField naming the first bad field."""
        if not MIN_INTERVAL_SECONDS <= self.interval_seconds <= MAX_INTERVAL_SECONDS:
            raise InvalidField(
                "interval_seconds",
                f"must be from {MIN_INTERVAL_SECONDS:g} to {MAX_INTERVAL_SECONDS:g}, "
                f"got {self.interval_seconds:g}",
            )
        if self.timeout_seconds < self.interval_seconds:
            raise InvalidField(
                "timeout_seconds",
                f"must be at least interval_seconds ({self.interval_seconds:g}), "
                f"got {self.timeout_seconds:g}",
            )
        _check_range("timeout_seconds", self.timeout_seconds, 0, 30 * MAX_INTERVAL_SECONDS)
        _check_count("max_failures", self.max_failures)
        _check_range("probe_timeout_seconds", self.probe_timeout_seconds, 0, 300)
        _check_count("recovery_successes", self.recovery_successes)
        if self.latency_threshold_ms is not None:
            _check_range("latency_threshold_ms", self.latency_threshold_ms, 0, 3_600_000)
        if not 0 <= self.cert_expiry_days <= MAX_CERT_EXPIRY_DAYS:
            raise InvalidField(
                "cert_expiry_days",
                f"must be from 0 (no warning) to {MAX_CERT_EXPIRY_DAYS}, "
                f"got {self.cert_expiry_days}",
            )
        self._validate_target()
        self._validate_kind_options()
        return self

    def _validate_target(self) -> None:
        if self.port is not None and not 1 <= self.port <= 65535:
            raise InvalidField("port", f"must be between 1 and 65535, got {self.port}")
        if self.health_url is not None:
            validate_health_url(self.health_url)
        if self.host is not None:
            validate_host("host", self.host)
        if self.check_type is CheckType.HTTP and not self.health_url:
            raise InvalidField("health_url", "is required when check_type is 'http'")
        if self.check_type in (CheckType.TCP, CheckType.GRPC):
            kind = self.check_type.value
            if not self.host:
                raise InvalidField("host", f"is required when check_type is '{kind}'")
            if self.port is None:
                raise InvalidField("port", f"is required when check_type is '{kind}'")

    def _validate_kind_options(self) -> None:
        """Options of one kind of check are refused on another, where they would be ignored."""
        grpc = self.check_type is CheckType.GRPC
        if self.grpc_service is not None:
            if not grpc:
                raise InvalidField("grpc_service", "applies only when check_type is 'grpc'")
            storable("grpc_service", self.grpc_service)
            if len(self.grpc_service) > MAX_NAME_LENGTH or not self.grpc_service.isprintable():
                raise InvalidField(
                    "grpc_service",
                    f"must be at most {MAX_NAME_LENGTH} printable characters",
                )
        if self.tls and not grpc:
            raise InvalidField(
                "tls", "applies only when check_type is 'grpc' (HTTP uses an https:// URL)"
            )
        if self.trace_error_percent is not None:
            if self.check_type is not CheckType.TRACES:
                raise InvalidField(
                    "trace_error_percent", "applies only when check_type is 'traces'"
                )
            _check_range("trace_error_percent", self.trace_error_percent, 0, 100)
        if self.assertions is not None:
            if self.check_type is not CheckType.HTTP:
                raise InvalidField("assertions", "apply only when check_type is 'http'")
            self.assertions.validated()


def _check_count(name: str, value: int) -> None:
    if not 1 <= value <= MAX_COUNT:
        raise InvalidField(name, f"must be from 1 to {MAX_COUNT}, got {value}")


def _check_range(name: str, value: float, low_exclusive: float, high: float) -> None:
    if not low_exclusive < value <= high:
        raise InvalidField(name, f"must be greater than {low_exclusive:g} and at most {high:g}")


@dataclass(frozen=True, slots=True)
class Service:
    """A registered service. `demo` marks services the demo mode created; `public` ones
    are shown on the status page, which needs no token."""

    service_id: str
    service_name: str
    check: CheckConfig = field(default_factory=CheckConfig)
    cluster: str | None = None
    demo: bool = False
    public: bool = False
    registered_at: datetime | None = None
    labels: Labels = ()

    def label(self, key: str) -> str | None:
        return next((value for name, value in self.labels if name == key), None)

    def validated(self) -> Service:
        validate_service_id(self.service_id)
        storable("service_name", self.service_name)
        storable("cluster", self.cluster)
        if not self.service_name.strip():
            raise InvalidField("service_name", "must not be empty")
        if len(self.service_name) > MAX_NAME_LENGTH:
            raise InvalidField("service_name", f"must be at most {MAX_NAME_LENGTH} characters")
        if self.cluster is not None and len(self.cluster) > MAX_NAME_LENGTH:
            raise InvalidField("cluster", f"must be at most {MAX_NAME_LENGTH} characters")
        as_labels(dict(self.labels))
        self.check.validated()
        return self

    def with_check(self, check: CheckConfig) -> Service:
        return replace(self, check=check)


def validate_health_url(url: str) -> str:
    """An http(s) URL that a probe can use as written, to a host a probe may reach."""
    storable("health_url", url)
    if any(char.isspace() or not char.isprintable() or char == "\\" for char in url):
        raise InvalidField(
            "health_url", "must not contain spaces, control characters (CR, LF, …) or '\\'"
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of range or not a number raises here
    except ValueError as exc:
        raise InvalidField("health_url", f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidField("health_url", f"must be an http:// or https:// URL, got {url!r}")
    if port == 0:
        raise InvalidField("health_url", "port must be from 1 to 65535, got 0")
    validate_host("health_url", parts.hostname)
    return url


def validate_host(field: str, host: str) -> str:
    """A DNS name or an IP address, and not one no probe may ever reach."""
    storable(field, host)
    if not HOST_PATTERN.fullmatch(host):
        raise InvalidField(field, f"must be a host name or an IP address, got {host!r}")
    address = parse_address(host)
    if address is None and NUMERIC_HOST.fullmatch(host):
        # What getaddrinfo would read as IPv4 ("127.1", "2130706433", "0x7f.1"): refused,
        # because the URL parser of the prober does not take it and it hides where it leads.
        raise InvalidField(field, f"write the IPv4 address {host!r} as four decimal numbers")
    if address is not None and (reason := never_probed(address)) is not None:
        raise InvalidField(field, f"{reason}; no probe may go there")
    return host


def validate_service_id(service_id: str) -> str:
    if not service_id:
        raise InvalidField("service_id", "must not be empty")
    if len(service_id) > MAX_NAME_LENGTH:
        raise InvalidField("service_id", f"must be at most {MAX_NAME_LENGTH} characters")
    if not SERVICE_ID_PATTERN.fullmatch(service_id):  # "$" alone would let "a\n" through
        raise InvalidField(
            "service_id", "may contain only letters, digits, '.', '_' and '-' (A-Za-z0-9._-)"
        )
    return service_id
