"""Settings, read once from the environment (and CLI flags, which override it).

Variable names follow the reference's Configuration section (RABBITMQ_*, HEARTBEAT_*,
SERVICE_MESH_PORT) plus DATABASE_URL and a few OSE_MESH_* knobs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ose_mesh.adapters.probes import NetworkPolicy
from ose_mesh.api.access import TokenFileError, Tokens
from ose_mesh.bus.config import BusSettings
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


def _short_token(which: str) -> str:
    return (
        f"{which} is shorter than {MIN_TOKEN_LENGTH} characters and could be guessed; make"
        " one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )


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

    ose_bus: Literal["memory", "amqp"] | None = None
    rabbitmq_url: str | None = None
    rabbitmq_management_url: str | None = None
    rabbitmq_host: str | None = None
    rabbitmq_port: int = Field(5672, ge=1, le=65535)
    rabbitmq_user: str = "guest"
    rabbitmq_pass: str = "guest"
    rabbitmq_vhost: str = "/"

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

    def bus(self) -> BusSettings:
        """The event bus settings (backend and broker address) these settings imply."""
        configured = self.rabbitmq_url or self.rabbitmq_host
        return BusSettings(
            # The embedded server uses its in-memory broker unless RabbitMQ is configured.
            ose_bus=self.ose_bus or ("amqp" if configured else "memory"),
            rabbitmq_url=self.rabbitmq_url,
            rabbitmq_host=self.rabbitmq_host,
            rabbitmq_port=self.rabbitmq_port,
            rabbitmq_user=self.rabbitmq_user,
            rabbitmq_pass=self.rabbitmq_pass,
            rabbitmq_vhost=self.rabbitmq_vhost,
        )

    def tokens(self) -> Tokens:
        """The access tokens: the two variables and the token file, if any. A token shorter
        than MIN_TOKEN_LENGTH is refused: it could be guessed."""
        for name, value in (
            ("OSE_MESH_READ_TOKENS", self.read_tokens),
            ("OSE_MESH_WRITE_TOKENS", self.write_tokens),
        ):
            for number, token in enumerate(value.split(","), 1):
                if token.strip() and len(token.strip()) < MIN_TOKEN_LENGTH:
                    raise ConfigError(_short_token(f"{name}: token {number}"))
        try:
            tokens = Tokens.from_values(
                self.read_tokens.split(","), self.write_tokens.split(","), self.token_file
            )
        except TokenFileError as exc:
            raise ConfigError(f"OSE_MESH_TOKEN_FILE: {exc}") from None
        if any(len(token) < MIN_TOKEN_LENGTH for token in (*tokens.read, *tokens.write)):
            raise ConfigError(_short_token("OSE_MESH_TOKEN_FILE: a token"))
        return tokens

    def probe_policy(self) -> NetworkPolicy:
        """Where probes may go: never link-local or unspecified, nor a denied network; only
        allowed ones when an allow list is given; and, when the server listens beyond
        loopback, no loopback or private address that the allow list does not name."""
        return NetworkPolicy.from_lists(
            self.probe_deny.split(","),
            self.probe_allow.split(","),
            local_denied=not self.listens_on_loopback,
        )

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
    "header_timeout_seconds": "OSE_MESH_HEADER_TIMEOUT",
    "websocket_init_timeout_seconds": "OSE_MESH_WS_INIT_TIMEOUT",
    "max_connections": "OSE_MESH_MAX_CONNECTIONS",
    "probe_deny": "OSE_MESH_PROBE_DENY",
    "probe_allow": "OSE_MESH_PROBE_ALLOW",
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
