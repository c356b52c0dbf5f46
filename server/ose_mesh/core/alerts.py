"""Alerts: each status transition is sent to every configured target, with retries.

Each delivery retries with backoff (0.5 s, 1 s, 2 s) and gives up after four attempts; the
counts and the last error are shown in the bus status, so a broken receiver is visible.
How a message travels (an HTTP POST for webhooks) is the transport's business.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ose_mesh.core.hub import Subscription
from ose_mesh.core.transitions import transition_event
from ose_mesh.domain import StatusChange
from ose_mesh.domain.redaction import safe_url

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.5


class DeliveryFailed(Exception):
    """One attempt failed; the message says why, with no secret of the target in it."""


class AlertTransport(Protocol):
    async def send(self, target: str, body: dict[str, Any]) -> None:
        """Deliver once; raise DeliveryFailed when the target did not take it."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    silenced: int = 0  # transitions not sent: the service was in maintenance
    last_error: str | None = None


async def with_retries(send: Callable[[], Awaitable[None]], first_backoff: float) -> str | None:
    """`send` until it goes through, at most ATTEMPTS times with doubling waits; None when
    it went through, else the last attempt's error."""
    delay = first_backoff
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await send()
        except DeliveryFailed as exc:
            error = str(exc)
        else:
            return None
        if attempt < ATTEMPTS:
            await asyncio.sleep(delay)
            delay *= 2
    return error


def alert_body(change: StatusChange) -> dict[str, Any]:
    event = transition_event(change)
    return {"event_type": event.event_type, "event_id": event.event_id, **event.payload}


class AlertNotifier:
    def __init__(
        self,
        urls: list[str],
        transport: AlertTransport,
        *,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
    ) -> None:
        self.urls = urls
        self.stats = DeliveryStats()
        self.first_backoff = first_backoff
        self._transport = transport
        self._deliveries: set[asyncio.Task[None]] = set()

    async def run(self, subscription: Subscription) -> None:
        """Deliver every transition to every target, each delivery on its own (a slow
        target never holds up the others), until cancelled."""
        try:
            async for change in subscription:
                if change.in_maintenance:  # planned: nobody is paged
                    self.stats.silenced += 1
                    continue
                for target in self.urls:
                    task = asyncio.create_task(self.deliver(target, change))
                    self._deliveries.add(task)
                    task.add_done_callback(self._deliveries.discard)
        finally:
            for task in tuple(self._deliveries):
                task.cancel()
            await self._transport.close()

    async def deliver(self, target: str, change: StatusChange) -> None:
        body = alert_body(change)
        error = await with_retries(lambda: self._transport.send(target, body), self.first_backoff)
        if error is None:
            self.stats.delivered += 1
            return
        self.stats.failed += 1
        self.stats.last_error = error
        log.warning("alert to %s gave up after %d attempts: %s", safe_url(target), ATTEMPTS, error)
