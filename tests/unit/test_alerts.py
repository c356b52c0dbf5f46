"""Alerts: one delivery per transition and target, retried with backoff, failures counted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ose_mesh.core.alerts import ATTEMPTS, AlertNotifier, DeliveryFailed
from ose_mesh.core.hub import OWN_STATUS, EventHub
from ose_mesh.core.transitions import subscribe_transitions
from ose_mesh.domain import HealthStatus, StatusChange
from tests.eventually import eventually

CHANGE = StatusChange(
    "payments",
    HealthStatus.HEALTHY,
    HealthStatus.DEAD,
    datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    "connection refused",
    ("orders-db",),
)


class Receiver:
    """Fails the first `failures` attempts to each target, then takes every message."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    async def send(self, target: str, body: dict[str, Any]) -> None:
        self.attempts[target] = self.attempts.get(target, 0) + 1
        if self.attempts[target] <= self.failures:
            raise DeliveryFailed(f"{target} answered HTTP 503")
        self.received.append((target, body))

    async def close(self) -> None:
        self.closed = True


async def test_a_transition_reaches_every_target_once_with_its_story() -> None:
    receiver = Receiver()
    notifier = AlertNotifier(["http://a/hook", "http://b/hook"], receiver)
    await notifier.deliver("http://a/hook", CHANGE)
    [(target, body)] = receiver.received
    assert target == "http://a/hook"
    assert body["event_type"] == "service.health.dead"
    assert body["service_id"] == "payments"
    assert body["previous"] == "healthy"
    assert body["reason"] == "connection refused"
    assert body["root_causes"] == ["orders-db"]
    assert notifier.stats.delivered == 1


async def test_a_failing_target_is_retried_then_counted_with_its_last_error() -> None:
    receiver = Receiver(failures=ATTEMPTS - 1)
    notifier = AlertNotifier(["http://a/hook"], receiver, first_backoff=0)
    await notifier.deliver("http://a/hook", CHANGE)
    assert receiver.attempts["http://a/hook"] == ATTEMPTS
    assert notifier.stats.delivered == 1
    assert notifier.stats.failed == 0

    hopeless = Receiver(failures=ATTEMPTS)
    notifier = AlertNotifier(["http://a/hook"], hopeless, first_backoff=0)
    await notifier.deliver("http://a/hook", CHANGE)
    assert hopeless.received == []
    assert notifier.stats.failed == 1
    assert notifier.stats.last_error == "http://a/hook answered HTTP 503"


async def test_the_notifier_follows_the_transitions_until_cancelled() -> None:
    hub, receiver = EventHub(), Receiver()
    notifier = AlertNotifier(["http://a/hook", "http://b/hook"], receiver)
    subscription = subscribe_transitions(hub)
    running = asyncio.create_task(notifier.run(subscription))
    hub.publish(OWN_STATUS, CHANGE)
    await eventually(lambda: len(receiver.received) == 2)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert sorted(target for target, _ in receiver.received) == ["http://a/hook", "http://b/hook"]
    assert receiver.closed
