"""The OSE event bus SDK: `from ose_mesh.bus import MessageBus, EventMessage, …`.

The reference's samples run unchanged but for their import line. The backend is RabbitMQ
(aiormq) or the in-process twin, chosen from the environment: OSE_BUS=memory|amqp; without
it, amqp when RABBITMQ_HOST or RABBITMQ_URL is set, else memory.
"""

from ose_mesh.bus.message_bus import (
    BROADCAST,
    DEAD_LETTERS,
    EVENTS,
    LOGS,
    TASKS,
    BusStats,
    MessageBus,
    RetryPolicy,
    RpcError,
)
from ose_mesh.bus.service_bus import ServiceEventBus
from ose_mesh.bus.settings import BusSettings
from ose_mesh.core.broker import ExchangeType
from ose_mesh.domain import EventMessage, MessagePriority

ExchangeTypes = ExchangeType  # the reference's name

# As the reference's `from message_bus import ServiceEventBus, message_bus` implies: one bus
# per process, configured from the environment when it first connects (no I/O at import).
message_bus = MessageBus()

__all__ = [
    "BROADCAST",
    "DEAD_LETTERS",
    "EVENTS",
    "LOGS",
    "TASKS",
    "BusSettings",
    "BusStats",
    "EventMessage",
    "ExchangeType",
    "ExchangeTypes",
    "MessageBus",
    "MessagePriority",
    "RetryPolicy",
    "RpcError",
    "ServiceEventBus",
    "message_bus",
]
