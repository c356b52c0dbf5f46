"""Events the monitor makes besides transitions (a certificate about to expire), published
on the bus through the outbox. Like transitions, each is made by the service's owner only."""

from __future__ import annotations

import logging

from ose_mesh.core.hub import OWN_NOTICES, EventHub, Subscription
from ose_mesh.core.outbox import EventService
from ose_mesh.domain import DomainError

log = logging.getLogger(__name__)

NOTICES_PER_WRITE = 500


def subscribe_notices(hub: EventHub) -> Subscription:
    return hub.subscribe(OWN_NOTICES, size=10_000)


async def forward_notices(subscription: Subscription, events: EventService) -> None:
    """Store every notice (an OutboxEntry) in the outbox, in batches."""
    async for entries in subscription.batches(NOTICES_PER_WRITE):
        try:
            await events.enqueue_many(entries)
        except DomainError as exc:  # the database is away, or refused them: keep forwarding
            log.error(
                "lost %d notices (%s, …): %s", len(entries), entries[0].routing_key, exc.message
            )
