"""Batched acks against a model of RabbitMQ's rules for one channel's delivery tags."""

from __future__ import annotations

import asyncio
import random

import aiormq
from hypothesis import given, settings
from hypothesis import strategies as st

from ose_mesh.adapters.broker.acks import ChannelSettler


class RecordingChannel:
    """Keeps RabbitMQ's set of outstanding tags; like RabbitMQ, an unknown tag is an error
    that closes the channel (raised here, so the test fails)."""

    def __init__(self, deliveries: int) -> None:
        self.outstanding = set(range(1, deliveries + 1))
        self.frames: list[tuple[str, int, bool]] = []
        self.rejected: set[int] = set()

    def _take(self, tag: int, multiple: bool) -> set[int]:
        if tag not in self.outstanding:
            raise aiormq.exceptions.ChannelPreconditionFailed(f"unknown delivery tag {tag}")
        taken = {t for t in self.outstanding if t <= tag} if multiple else {tag}
        self.outstanding -= taken
        return taken

    async def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.frames.append(("ack", tag, multiple))
        self._take(tag, multiple)

    async def basic_reject(self, tag: int, requeue: bool = True) -> None:
        self.frames.append(("reject", tag, False))
        self.rejected |= self._take(tag, False)

    async def basic_nack(self, tag: int, requeue: bool = True) -> None:
        self.frames.append(("nack", tag, False))
        self.rejected |= self._take(tag, False)


async def settle_all(
    deliveries: int, seed: int, reject_every: int, prefetch: int
) -> RecordingChannel:
    """Every delivery handled by its own task, finishing in a shuffled order."""
    channel = RecordingChannel(deliveries)
    settler = ChannelSettler(channel, prefetch)  # type: ignore[arg-type]
    order = random.Random(seed)
    turns = {tag: order.randrange(4) for tag in range(1, deliveries + 1)}

    async def handle(tag: int) -> None:
        for _ in range(turns[tag]):
            await asyncio.sleep(0)
        action = "reject" if reject_every and tag % reject_every == 0 else "ack"
        await settler.settle(tag, action, False)

    await asyncio.gather(*(handle(tag) for tag in range(1, deliveries + 1)))
    return channel


@settings(max_examples=200, deadline=None)
@given(
    deliveries=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    reject_every=st.sampled_from([0, 2, 3, 7]),
    prefetch=st.sampled_from([1, 4, 10, 200]),
)
def test_every_delivery_is_settled_once_whatever_the_order(
    deliveries: int, seed: int, reject_every: int, prefetch: int
) -> None:
    channel = asyncio.run(settle_all(deliveries, seed, reject_every, prefetch))
    assert channel.outstanding == set()
    wanted = {t for t in range(1, deliveries + 1) if reject_every and t % reject_every == 0}
    assert channel.rejected == wanted


def in_order_acks(deliveries: int, prefetch: int) -> list[tuple[str, int, bool]]:
    async def scenario() -> RecordingChannel:
        channel = RecordingChannel(deliveries)
        settler = ChannelSettler(channel, prefetch)  # type: ignore[arg-type]
        await asyncio.gather(*(settler.settle(t, "ack", False) for t in range(1, deliveries + 1)))
        return channel

    return asyncio.run(scenario()).frames


def test_in_order_acks_gathered_together_are_one_frame() -> None:
    assert in_order_acks(100, prefetch=400) == [("ack", 100, True)]


def test_a_batch_holds_at_most_a_quarter_of_the_prefetch_window() -> None:
    assert in_order_acks(100, prefetch=200) == [("ack", 50, True), ("ack", 100, True)]
    assert in_order_acks(3, prefetch=1) == [("ack", 1, True), ("ack", 2, True), ("ack", 3, True)]


def test_held_acks_are_sent_by_flush_before_a_channel_closes() -> None:
    async def scenario() -> RecordingChannel:
        channel = RecordingChannel(2)
        settler = ChannelSettler(channel, 200)  # type: ignore[arg-type]
        waiting = asyncio.ensure_future(settler.settle(1, "ack", False))
        await asyncio.sleep(0)
        assert channel.frames == []  # held for the others of its batch
        await settler.flush()
        await waiting
        return channel

    assert asyncio.run(scenario()).frames == [("ack", 1, True)]


def test_an_ack_ahead_of_an_unfinished_delivery_is_sent_at_once() -> None:
    async def scenario() -> RecordingChannel:
        channel = RecordingChannel(3)
        settler = ChannelSettler(channel, 200)  # type: ignore[arg-type]
        await settler.settle(2, "ack", False)
        await settler.settle(3, "ack", False)
        assert channel.outstanding == {1}  # 1 is still being handled; 2 and 3 are not held
        await settler.settle(1, "ack", False)
        return channel

    assert asyncio.run(scenario()).frames == [
        ("ack", 2, False),
        ("ack", 3, False),
        ("ack", 1, True),
    ]
