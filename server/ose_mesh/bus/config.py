"""Where the SDK's bus connects: read once from the environment, as the server does."""

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

    @property
    def backend(self) -> Literal["memory", "amqp"]:
        """OSE_BUS when set, else RabbitMQ (on localhost unless RABBITMQ_* say where): a
        script beside the server must reach the server's broker, never an in-process one
        it would publish into unheard. The in-memory broker is only had by asking."""
        return self.ose_bus or "amqp"

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
