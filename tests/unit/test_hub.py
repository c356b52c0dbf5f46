"""The event hub never blocks a publisher: slow subscribers lose their oldest items."""

from __future__ import annotations

from ose_mesh.core import EventHub


async def test_subscribers_get_what_they_accept() -> None:
    hub = EventHub()
    evens = hub.subscribe("numbers", accept=lambda n: n % 2 == 0)
    everything = hub.subscribe("numbers")
    for n in range(5):
        hub.publish("numbers", n)
    assert [evens.queue.get_nowait() for _ in range(evens.queue.qsize())] == [0, 2, 4]
    assert everything.queue.qsize() == 5


async def test_a_full_subscriber_drops_the_oldest() -> None:
    hub = EventHub()
    slow = hub.subscribe("numbers", size=3)
    for n in range(10):
        hub.publish("numbers", n)
    assert [slow.queue.get_nowait() for _ in range(3)] == [7, 8, 9]
    assert slow.dropped == 7


async def test_closed_subscriptions_receive_nothing() -> None:
    hub = EventHub()
    subscription = hub.subscribe("numbers")
    subscription.close()
    hub.publish("numbers", 1)
    assert subscription.queue.empty()
    assert not hub.has_subscribers("numbers")
