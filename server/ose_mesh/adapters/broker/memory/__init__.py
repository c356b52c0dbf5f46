"""The in-memory twin of RabbitMQ: routing, queues, and the broker connection over them."""

from ose_mesh.adapters.broker.memory.broker import (
    MemoryBroker,
    MemoryVirtualHost,
    shared_virtual_host,
)

__all__ = ["MemoryBroker", "MemoryVirtualHost", "shared_virtual_host"]
