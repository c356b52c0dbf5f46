"""Batched acks against a model of RabbitMQ's rules for one channel's delivery tags."""

from __future__ import annotations

import asyncio
import random

import aiormq
from hypothesis import given, settings
from hypothesis import strategies as st

from ose_mesh.adapters.bus.acks import ChannelSettler


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


async def settle_all(deliveries: int, seed: int, reject_every: int) -> RecordingChannel:
    """Every delivery handled by its own task, finishing in a shuffled order."""
    channel = RecordingChannel(deliveries)
    settler = ChannelSettler(channel)  # type: ignore[arg-type]
    order = random.Random(seed)
    turns = {tag: order.randrange(4) for tag in range(1, deliveries + 1)}

    async def handle(tag: int) -> None:
        for _ in range(turns[tag]):
            await asyncio.sleep(0)
        action = "reject" if reject_every and tag % reject_every == 0 else "ack"
        await settler.settle(tag, action, False)

    await asyncio.gather(*(handle(tag) for tag in range(1, deliveries + 1)))
    await asyncio.sleep(0)
    return channel


@settings(max_examples=200, deadline=None)
@given(
    deliveries=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    reject_every=st.sampled_from([0, 2, 3, 7]),
)
def test_every_delivery_is_settled_once_whatever_the_order(
    deliveries: int, seed: int, reject_every: int
) -> None:
    channel = asyncio.run(settle_all(deliveries, seed, reject_every))
    assert channel.outstanding == set()
    wanted = {t for t in range(1, deliveries + 1) if reject_every and t % reject_every == 0}
    assert channel.rejected == wanted


def test_in_order_acks_of_one_turn_are_one_frame() -> None:
    async def scenario() -> RecordingChannel:
        channel = RecordingChannel(100)
        settler = ChannelSettler(channel)  # type: ignore[arg-type]
        await asyncio.gather(*(settler.settle(tag, "ack", False) for tag in range(1, 101)))
        return channel

    assert asyncio.run(scenario()).frames == [("ack", 100, True)]


def test_an_ack_ahead_of_an_unfinished_delivery_is_sent_at_once() -> None:
    async def scenario() -> RecordingChannel:
        channel = RecordingChannel(3)
        settler = ChannelSettler(channel)  # type: ignore[arg-type]
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
