"""Settings, read once from the environment (and CLI flags, which override it).

Variable names follow the reference's Configuration section (RABBITMQ_*, HEARTBEAT_*,
SERVICE_MESH_PORT) plus DATABASE_URL and a few OSE_MESH_* knobs. The RabbitMQ variables are
declared once, in the SDK's BusSettings, which the server reads too. Settings only: what
they mean for the parts (tokens, probe policy) is worked out in bootstrap.py.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import Any, Self

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ose_mesh.bus.settings import BusSettings
from ose_mesh.domain.service import MAX_COUNT

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/ose-mesh.db"
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


MIN_TOKEN_LENGTH = 16


class ConfigError(Exception):
    """A setting is invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("SERVICE_MESH_HOST", "host"))
    port: int = Field(
        8000, ge=1, le=65535, validation_alias=AliasChoices("SERVICE_MESH_PORT", "port")
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    demo: bool = Field(False, validation_alias=AliasChoices("OSE_MESH_DEMO", "demo"))

    heartbeat_interval: float = Field(10, ge=1, le=86_400)
    heartbeat_timeout: float = Field(30, gt=0)
    heartbeat_max_failures: int = Field(3, ge=1, le=MAX_COUNT)

    webhook_urls: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_WEBHOOK_URLS", "webhook_urls")
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        validation_alias=AliasChoices("OSE_MESH_MAX_BODY_BYTES", "max_body_bytes"),
    )
    max_concurrent_probes: int = Field(
        512,
        ge=1,
        validation_alias=AliasChoices("OSE_MESH_MAX_CONCURRENT_PROBES", "max_concurrent_probes"),
    )
    history_flush_seconds: float = Field(
        5,
        gt=0,
        validation_alias=AliasChoices("OSE_MESH_HISTORY_FLUSH_SECONDS", "history_flush_seconds"),
    )
    read_tokens: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_READ_TOKENS", "read_tokens"), repr=False
    )
    write_tokens: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_WRITE_TOKENS", "write_tokens"), repr=False
    )
    token_file: Path | None = Field(
        None, validation_alias=AliasChoices("OSE_MESH_TOKEN_FILE", "token_file")
    )
    cors_origins: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_CORS_ORIGINS", "cors_origins")
    )
    allowed_hosts: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_ALLOWED_HOSTS", "allowed_hosts")
    )
    probe_deny: str = Field("", validation_alias=AliasChoices("OSE_MESH_PROBE_DENY", "probe_deny"))
    probe_allow: str = Field(
        "", validation_alias=AliasChoices("OSE_MESH_PROBE_ALLOW", "probe_allow")
    )
    notify_file: Path | None = Field(
        None, validation_alias=AliasChoices("OSE_MESH_NOTIFY_FILE", "notify_file")
    )
    probe_ca_file: Path | None = Field(
        None, validation_alias=AliasChoices("OSE_MESH_PROBE_CA_FILE", "probe_ca_file")
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        validation_alias=AliasChoices("OSE_MESH_HEADER_TIMEOUT", "header_timeout_seconds"),
    )
    websocket_init_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        validation_alias=AliasChoices("OSE_MESH_WS_INIT_TIMEOUT", "websocket_init_timeout_seconds"),
    )
    max_connections: int = Field(
        4096,
        ge=16,
        validation_alias=AliasChoices("OSE_MESH_MAX_CONNECTIONS", "max_connections"),
    )
    beats_per_second: float = Field(
        20,
        gt=0,
        validation_alias=AliasChoices("OSE_MESH_BEATS_PER_SECOND", "beats_per_second"),
    )
    # Traces: spans taken per second (beyond: 429), and how many edges and services are
    # followed (beyond: dropped and counted), which bounds their memory.
    trace_spans_per_second: float = Field(
        50_000,
        gt=0,
        validation_alias=AliasChoices("OSE_MESH_TRACE_SPANS_PER_SECOND", "trace_spans_per_second"),
    )
    trace_max_edges: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices("OSE_MESH_TRACE_MAX_EDGES", "trace_max_edges"),
    )
    trace_max_services: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices("OSE_MESH_TRACE_MAX_SERVICES", "trace_max_services"),
    )

    cluster: bool = Field(False, validation_alias=AliasChoices("OSE_MESH_CLUSTER", "cluster"))
    replica_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        validation_alias=AliasChoices("OSE_MESH_REPLICA_ID", "replica_id"),
    )

    def bus(self) -> BusSettings:
        """The event bus settings: the embedded server keeps its in-memory broker unless
        RabbitMQ is configured (OSE_BUS, RABBITMQ_URL or RABBITMQ_HOST)."""
        return BusSettings().for_server()

    def cluster_problem(self) -> str | None:
        """Why cluster mode cannot run on these settings, or None."""
        if not self.cluster:
            return None
        if not self.database_url.startswith("postgresql"):
            return (
                "cluster mode needs PostgreSQL (DATABASE_URL=postgresql://…): replicas share"
                " the database and hold their leases in it; SQLite is one process's file"
            )
        if self.bus().backend != "amqp":
            return (
                "cluster mode needs RabbitMQ (RABBITMQ_HOST or RABBITMQ_URL): replicas tell"
                " each other what changed over it; the in-memory bus reaches one process"
            )
        return None

    @property
    def listens_on_loopback(self) -> bool:
        """Whether only this machine can reach the server (`localhost` or a loopback IP)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def allowed_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def trusted_hosts(self) -> list[str]:
        """Host names the server answers to: OSE_MESH_ALLOWED_HOSTS, or by default the
        loopback names when listening on loopback and any name otherwise ("*")."""
        given = [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]
        if given:
            return given
        if self.listens_on_loopback:
            return ["localhost", "127.0.0.1", "::1", self.host]
        return ["*"]

    @property
    def webhooks(self) -> list[str]:
        return [url.strip() for url in self.webhook_urls.split(",") if url.strip()]

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, value: str) -> str:
        for url in (u.strip() for u in value.split(",")):
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"each URL must start with http:// or https://, got {url!r}")
        return value

    @field_validator("probe_deny", "probe_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in (n.strip() for n in value.split(",")):
            if network:
                try:
                    ipaddress.ip_network(network, strict=False)
                except ValueError:
                    raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from None
        return value

    @field_validator("probe_ca_file")
    @classmethod
    def _certificates(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                ssl.create_default_context().load_verify_locations(cafile=str(value))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot read PEM certificates from {value} ({exc})") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept plain sqlite:// and postgresql:// URLs and pick the async driver for them."""
        scheme, sep, rest = url.partition("://")
        if not sep:
            raise ValueError("must be a URL such as sqlite+aiosqlite:///./data/ose-mesh.db")
        if scheme in _DRIVERS:
            return f"{_DRIVERS[scheme]}://{rest}"
        if scheme not in _DRIVERS.values():
            raise ValueError("must use sqlite+aiosqlite:// or postgresql+asyncpg://")
        return url

    @model_validator(mode="after")
    def _timeout_covers_interval(self) -> Self:
        if self.heartbeat_timeout < self.heartbeat_interval:
            raise ValueError(
                "HEARTBEAT_TIMEOUT must be at least HEARTBEAT_INTERVAL "
                f"({self.heartbeat_timeout:g} < {self.heartbeat_interval:g})"
            )
        return self


_ENV_NAMES = {
    "host": "SERVICE_MESH_HOST",
    "port": "SERVICE_MESH_PORT",
    "database_url": "DATABASE_URL",
    "demo": "OSE_MESH_DEMO",
    "webhook_urls": "OSE_MESH_WEBHOOK_URLS",
    "max_body_bytes": "OSE_MESH_MAX_BODY_BYTES",
    "max_concurrent_probes": "OSE_MESH_MAX_CONCURRENT_PROBES",
    "history_flush_seconds": "OSE_MESH_HISTORY_FLUSH_SECONDS",
    "read_tokens": "OSE_MESH_READ_TOKENS",
    "write_tokens": "OSE_MESH_WRITE_TOKENS",
    "token_file": "OSE_MESH_TOKEN_FILE",
    "cors_origins": "OSE_MESH_CORS_ORIGINS",
    "allowed_hosts": "OSE_MESH_ALLOWED_HOSTS",
    "beats_per_second": "OSE_MESH_BEATS_PER_SECOND",
    "trace_spans_per_second": "OSE_MESH_TRACE_SPANS_PER_SECOND",
    "trace_max_edges": "OSE_MESH_TRACE_MAX_EDGES",
    "trace_max_services": "OSE_MESH_TRACE_MAX_SERVICES",
    "cluster": "OSE_MESH_CLUSTER",
    "replica_id": "OSE_MESH_REPLICA_ID",
    "header_timeout_seconds": "OSE_MESH_HEADER_TIMEOUT",
    "websocket_init_timeout_seconds": "OSE_MESH_WS_INIT_TIMEOUT",
    "max_connections": "OSE_MESH_MAX_CONNECTIONS",
    "probe_deny": "OSE_MESH_PROBE_DENY",
    "probe_allow": "OSE_MESH_PROBE_ALLOW",
    "probe_ca_file": "OSE_MESH_PROBE_CA_FILE",
    "notify_file": "OSE_MESH_NOTIFY_FILE",
}


def load_settings(**overrides: Any) -> Settings:
    """Read the environment once; `overrides` (CLI flags) win. Raises ConfigError."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = _ENV_NAMES.get(field, field.upper())
            problems.append(f"{name}: {error['msg']}" if name else error["msg"])
        raise ConfigError("Invalid settings: " + "; ".join(problems)) from exc
