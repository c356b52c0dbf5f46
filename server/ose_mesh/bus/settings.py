"""Where a bus connects: the RabbitMQ variables, declared once for the SDK and the server."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from pydantic_settings import BaseSettings, SettingsConfigDict

from ose_mesh.domain.redaction import safe_url


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    ose_bus: Literal["memory", "amqp"] | None = None
    rabbitmq_url: str | None = None
    rabbitmq_host: str | None = None
    rabbitmq_port: int = 5672
    rabbitmq_user: str = "guest"
    rabbitmq_pass: str = "guest"
    rabbitmq_vhost: str = "/"
    rabbitmq_management_url: str | None = None  # the server lists the vhost's topology with it

    @property
    def backend(self) -> Literal["memory", "amqp"]:
        """OSE_BUS when set, else RabbitMQ (on localhost unless RABBITMQ_* say where): a
        script beside the server must reach the server's broker, never an in-process one
        it would publish into unheard. The in-memory broker is only had by asking."""
        return self.ose_bus or "amqp"

    def for_server(self) -> BusSettings:
        """As the embedded server reads them: its own in-memory broker unless RabbitMQ is
        configured (OSE_BUS, RABBITMQ_URL or RABBITMQ_HOST)."""
        configured = self.rabbitmq_url or self.rabbitmq_host
        backend = self.ose_bus or ("amqp" if configured else "memory")
        return self.model_copy(update={"ose_bus": backend})

    @property
    def url(self) -> str:
        if self.rabbitmq_url:
            return self.rabbitmq_url
        user, password = quote(self.rabbitmq_user, safe=""), quote(self.rabbitmq_pass, safe="")
        host = self.rabbitmq_host or "localhost"
        vhost = quote(self.rabbitmq_vhost, safe="")
        return f"amqp://{user}:{password}@{host}:{self.rabbitmq_port}/{vhost}"

    @property
    def safe_url(self) -> str:
        """The broker address without the password, for status pages and logs."""
        if self.backend == "memory":
            return "memory://"
        return safe_url(self.url)
