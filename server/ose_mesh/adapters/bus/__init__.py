"""Message brokers behind one protocol: RabbitMQ (aiormq) and its exact in-memory twin."""

from ose_mesh.adapters.bus.amqp import AmqpBroker
from ose_mesh.adapters.bus.memory import MemoryBroker, MemoryVirtualHost, shared_virtual_host
from ose_mesh.adapters.bus.model import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Delivery,
    ExchangeType,
    Handler,
    NotFound,
    PreconditionFailed,
    Properties,
    QueueInfo,
)
from ose_mesh.domain.routing import headers_match, topic_matches

__all__ = [
    "AmqpBroker",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "Delivery",
    "ExchangeType",
    "Handler",
    "MemoryBroker",
    "MemoryVirtualHost",
    "NotFound",
    "PreconditionFailed",
    "Properties",
    "QueueInfo",
    "headers_match",
    "shared_virtual_host",
    "topic_matches",
]
