"""The broker an SDK bus uses when none is given: chosen from the environment."""

from __future__ import annotations

import logging

from ose_mesh.adapters.broker import AmqpBroker, MemoryBroker
from ose_mesh.bus.settings import BusSettings
from ose_mesh.core.broker import Broker

log = logging.getLogger(__name__)


def broker_from_environment(settings: BusSettings | None = None) -> Broker:
    """RabbitMQ unless OSE_BUS=memory (see BusSettings.backend)."""
    settings = settings or BusSettings()
    log.info("message bus backend: %s (%s)", settings.backend, settings.safe_url)
    if settings.backend == "amqp":
        return AmqpBroker(settings.url)
    return MemoryBroker()
