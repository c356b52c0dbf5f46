"""Alert webhooks: each status transition is POSTed as JSON to the configured URLs.

Each delivery retries with backoff (0.5 s, 1 s, 2 s) and gives up after four attempts; the
counts and the last error are shown in the bus status, so a broken receiver is visible. URLs
are shown and logged without their secrets (credentials, query values, key-like path parts).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp

from ose_mesh.core.events import transition_event
from ose_mesh.core.hub import Subscription
from ose_mesh.domain import StatusChange
from ose_mesh.domain.redaction import safe_url, scrub

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 5.0


@dataclass(slots=True)
class WebhookStats:
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None


class WebhookNotifier:
    def __init__(self, urls: list[str], *, first_backoff: float = FIRST_BACKOFF_SECONDS) -> None:
        self.urls = urls
        self.stats = WebhookStats()
        self.first_backoff = first_backoff
        self._deliveries: set[asyncio.Task[None]] = set()

    async def run(self, subscription: Subscription) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                async for change in subscription:
                    for url in self.urls:
                        task = asyncio.create_task(self._deliver(session, url, change))
                        self._deliveries.add(task)
                        task.add_done_callback(self._deliveries.discard)
            finally:
                for task in tuple(self._deliveries):
                    task.cancel()

    async def _deliver(
        self, session: aiohttp.ClientSession, url: str, change: StatusChange
    ) -> None:
        event = transition_event(change)
        body = {"event_type": event.event_type, "event_id": event.event_id, **event.payload}
        delay = self.first_backoff
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with session.post(url, json=body) as response:
                    if response.status < 300:
                        self.stats.delivered += 1
                        return
                    error = f"{safe_url(url)} answered HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                # aiohttp's messages can repeat the URL or its parts: shown and logged hidden
                error = scrub(f"{safe_url(url)}: {type(exc).__name__} {exc}".strip(), url)
            if attempt < ATTEMPTS:
                await asyncio.sleep(delay)
                delay *= 2
        self.stats.failed += 1
        self.stats.last_error = error
        log.warning("webhook gave up after %d attempts: %s", ATTEMPTS, error)
