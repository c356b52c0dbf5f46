"""Exchanges, bindings and routing of the in-memory broker, as RabbitMQ routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ose_mesh.core.broker import ExchangeType
from ose_mesh.domain.routing import headers_match, topic_matches


@dataclass(slots=True)
class Binding:
    queue: str
    routing_key: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class Exchange:
    name: str
    type: ExchangeType
    durable: bool
    bindings: list[Binding] = field(default_factory=list)

    def bound_queues(self, routing_key: str, headers: dict[str, Any]) -> list[str]:
        """The names of the queues a message reaches, each once, in binding order."""
        names: dict[str, None] = {}
        for binding in self.bindings:
            if binding_matches(self.type, binding, routing_key, headers):
                names[binding.queue] = None
        return list(names)


def binding_matches(
    kind: ExchangeType, binding: Binding, key: str, headers: dict[str, Any]
) -> bool:
    match kind:
        case ExchangeType.DIRECT:
            return binding.routing_key == key
        case ExchangeType.FANOUT:
            return True
        case ExchangeType.TOPIC:
            return topic_matches(binding.routing_key, key)
        case ExchangeType.HEADERS:
            return headers_match(binding.arguments, headers)
