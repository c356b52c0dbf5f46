"""The message broker backends behind the port in `core/broker.py`: RabbitMQ (aiormq), its
exact in-memory twin, and the topology listings (`BrokerAdmin`) each can give."""

from ose_mesh.adapters.broker.admin import DeclaredTopology, ManagementTopology, MemoryTopology
from ose_mesh.adapters.broker.amqp import AmqpBroker
from ose_mesh.adapters.broker.management import ManagementClient
from ose_mesh.adapters.broker.memory import MemoryBroker, MemoryVirtualHost, shared_virtual_host

__all__ = [
    "AmqpBroker",
    "DeclaredTopology",
    "ManagementClient",
    "ManagementTopology",
    "MemoryBroker",
    "MemoryTopology",
    "MemoryVirtualHost",
    "shared_virtual_host",
]
