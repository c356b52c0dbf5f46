"""The in-process event hub: status changes and heartbeats fan out to whoever listens.

Publishing never blocks: each subscriber has a bounded queue, and a subscriber that falls
behind loses its oldest items (counted in `dropped`) rather than slowing the monitor.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

Topic = str
STATUS: Topic = "status"  # every transition in the mesh (what users watch)
OWN_STATUS: Topic = "status.own"  # those this process made (published, alerted, told)
OWN_NOTICES: Topic = "notices.own"  # other events this process made (an expiring certificate)
HEARTBEAT: Topic = "heartbeat"
REGISTRY: Topic = "registry"
GRAPH: Topic = "graph"


class Subscription:
    def __init__(self, hub: EventHub, topic: Topic, accept: Callable[[Any], bool], size: int):
        self._hub = hub
        self.topic = topic
        self.accept = accept
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, item: Any) -> None:
        if not self.accept(item):
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    def close(self) -> None:
        self._hub.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def batches(self, most: int) -> AsyncIterator[list[Any]]:
        """What has arrived, up to `most` items at a time (waiting for the first only)."""
        try:
            while True:
                batch = [await self.queue.get()]
                while len(batch) < most and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                yield batch
        finally:
            self.close()

    async def _iterate(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.queue.get()
        finally:
            self.close()


class EventHub:
    def __init__(self) -> None:
        self._subscribers: dict[Topic, set[Subscription]] = defaultdict(set)

    def subscribe(
        self, topic: Topic, accept: Callable[[Any], bool] = lambda _: True, size: int = 1000
    ) -> Subscription:
        subscription = Subscription(self, topic, accept, size)
        self._subscribers[topic].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers[subscription.topic].discard(subscription)

    def has_subscribers(self, topic: Topic) -> bool:
        return bool(self._subscribers.get(topic))

    def publish(self, topic: Topic, item: Any) -> None:
        for subscription in tuple(self._subscribers.get(topic, ())):
            subscription.offer(item)
