"""Settling deliveries on RabbitMQ, with a consumer channel's acks sent in batches.

One `basic.ack` per message is a frame to build, write and have RabbitMQ parse for every
message; it is most of what a fast consumer spends. AMQP lets one ack with `multiple` set
settle every outstanding delivery up to its tag, so acks whose predecessors are all settled
are held for at most `ACK_DELAY` and sent as one frame. A batch never holds more than a
quarter of the prefetch window, so a small window (prefetch 1: every ack at once) is never
starved waiting for a timer.

Handlers run concurrently and finish in any order. A delivery that finishes while an earlier
one is still being handled is acked on its own at once: a slow handler never holds back the
others' acks. Nacks and rejects are always sent on their own, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiormq
from aiormq.abc import AbstractChannel

log = logging.getLogger(__name__)

ACK_DELAY = 0.002  # seconds

Settle = Callable[[int, str, bool], Awaitable[object]]


async def settle_alone(channel: AbstractChannel, tag: int, action: str, requeue: bool) -> bool:
    """Ack, nack or reject one delivery; False when the channel is gone."""
    try:
        if action == "ack":
            await channel.basic_ack(tag)
        elif action == "nack":
            await channel.basic_nack(tag, requeue=requeue)
        else:
            await channel.basic_reject(tag, requeue=requeue)
    except (aiormq.exceptions.AMQPError, RuntimeError) as exc:
        # RabbitMQ requeues every unsettled message of a closed channel itself.
        log.warning("could not %s message %s: %s", action, tag, exc)
        return False
    return True


class ChannelSettler:
    """Settles the deliveries of one consumer channel, whose delivery tags count 1, 2, 3…"""

    def __init__(self, channel: AbstractChannel, prefetch: int) -> None:
        self._channel = channel
        self._most_held = max(1, prefetch // 4)
        self._lowest_unsettled = 1
        self._settled_ahead: set[int] = set()  # settled tags above the lowest unsettled
        self._batch_end = 0  # highest in-order ack not sent yet; 0 = none
        self._batch_size = 0
        self._timer_running = False

    async def settle(self, tag: int, action: str, requeue: bool) -> None:
        if action == "ack" and tag == self._lowest_unsettled:
            await self._ack_in_order(tag)
        elif await settle_alone(self._channel, tag, action, requeue):
            if tag == self._lowest_unsettled:
                self._advance_past(tag)
            else:
                self._settled_ahead.add(tag)

    async def flush(self) -> None:
        """Send the acks being held (before the channel closes, say)."""
        if self._batch_end:
            end, self._batch_end, self._batch_size = self._batch_end, 0, 0
            try:
                # `end` itself is still outstanding (RabbitMQ closes the channel on an
                # unknown tag, even with `multiple`): a tag acked alone never ends a batch.
                await self._channel.basic_ack(end, multiple=True)
            except (aiormq.exceptions.AMQPError, RuntimeError) as exc:
                log.warning("could not ack messages up to %s: %s", end, exc)

    async def _ack_in_order(self, tag: int) -> None:
        self._advance_past(tag)
        self._batch_end = tag
        self._batch_size += 1
        if self._batch_size >= self._most_held:
            await self.flush()
        elif not self._timer_running:
            # The first ack of a batch waits out the delay, then sends what has gathered.
            self._timer_running = True
            try:
                await asyncio.sleep(ACK_DELAY)
            finally:
                self._timer_running = False
            await self.flush()

    def _advance_past(self, tag: int) -> None:
        self._lowest_unsettled = tag + 1
        while self._lowest_unsettled in self._settled_ahead:
            self._settled_ahead.remove(self._lowest_unsettled)
            self._lowest_unsettled += 1
