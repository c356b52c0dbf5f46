"""Status transitions as events on `ose.events`, stored through the outbox in batches."""

from __future__ import annotations

import logging

from ose_mesh.core.broker import EVENTS
from ose_mesh.core.hub import OWN_STATUS, EventHub, Subscription
from ose_mesh.core.outbox import EventService
from ose_mesh.core.ports import OutboxEntry
from ose_mesh.domain import DomainError, EventMessage, HealthStatus, MessagePriority, StatusChange

log = logging.getLogger(__name__)

TRANSITIONS_PER_WRITE = 500
_PRIORITY = {
    HealthStatus.DEAD: MessagePriority.CRITICAL,
    HealthStatus.CRITICAL: MessagePriority.HIGH,
    HealthStatus.DEGRADED: MessagePriority.NORMAL,
}


def transition_event(change: StatusChange) -> EventMessage:
    """A status transition as the event every subscriber of `ose.events` sees."""
    return EventMessage(
        event_type=f"service.health.{change.current.value}",
        source_service=change.service_id,
        payload={
            "service_id": change.service_id,
            "previous": change.previous.value,
            "current": change.current.value,
            "reason": change.reason,
            "root_causes": list(change.root_causes),
            "at": change.at.isoformat(),
            "in_maintenance": change.in_maintenance,
        },
        priority=_PRIORITY.get(change.current, MessagePriority.LOW),
        timestamp=change.at,
    )


def subscribe_transitions(hub: EventHub) -> Subscription:
    """The transitions this process makes (in a cluster, each is made by the service's
    owner: published and alerted once). Subscribe before anything can change."""
    return hub.subscribe(OWN_STATUS, size=100_000)


async def forward_transitions(subscription: Subscription, events: EventService) -> None:
    """Publish every status transition to `ose.events` as `{service_id}.health.{status}`.
    A storm of them (a network outage turns every service dead) is stored in batches, one
    write for up to TRANSITIONS_PER_WRITE, not one round trip each."""
    async for changes in subscription.batches(TRANSITIONS_PER_WRITE):
        entries = [
            OutboxEntry(
                EVENTS,
                f"{change.service_id}.health.{change.current.value}",
                transition_event(change),
            )
            for change in changes
        ]
        try:
            await events.enqueue_many(entries)
        except DomainError as exc:  # the database is away, or refused them: keep forwarding
            log.error(
                "lost the events of %d transitions (%s, …): %s",
                len(changes),
                changes[0].service_id,
                exc.message,
            )
