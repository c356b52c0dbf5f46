"""Settling deliveries on RabbitMQ, with a consumer channel's acks sent in batches.

One `basic.ack` per message is a frame to build, write and have RabbitMQ parse for every
message; it is most of what a fast consumer spends. AMQP lets one ack with `multiple` set
settle every outstanding delivery up to its tag, so acks whose predecessors are all settled
are gathered over one turn of the event loop and sent as one frame.

Handlers run concurrently and finish in any order. A delivery that finishes while an earlier
one is still being handled is acked on its own at once: a slow handler never holds back the
others' acks (nor the prefetch window). Nacks and rejects are always sent on their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiormq
from aiormq.abc import AbstractChannel

log = logging.getLogger(__name__)

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

    def __init__(self, channel: AbstractChannel) -> None:
        self._channel = channel
        self._lowest_unsettled = 1
        self._settled_ahead: set[int] = set()  # settled tags above the lowest unsettled
        self._batch_end = 0  # highest in-order ack not sent yet; 0 = none
        self._batch_open = False

    async def settle(self, tag: int, action: str, requeue: bool) -> None:
        if action == "ack" and tag == self._lowest_unsettled:
            self._advance_past(tag)
            self._batch_end = tag
            await self._send_batch()
        elif await settle_alone(self._channel, tag, action, requeue):
            if tag == self._lowest_unsettled:
                self._advance_past(tag)
            else:
                self._settled_ahead.add(tag)

    def _advance_past(self, tag: int) -> None:
        self._lowest_unsettled = tag + 1
        while self._lowest_unsettled in self._settled_ahead:
            self._settled_ahead.remove(self._lowest_unsettled)
            self._lowest_unsettled += 1

    async def _send_batch(self) -> None:
        """The first in-order ack of a turn waits for the turn to end, then sends them all."""
        if self._batch_open:
            return
        self._batch_open = True
        try:
            await asyncio.sleep(0)
        finally:
            self._batch_open = False
        end, self._batch_end = self._batch_end, 0
        try:
            # `end` itself is still outstanding (RabbitMQ closes the channel on an unknown
            # tag, even with `multiple`): a tag acked on its own never becomes a batch's end.
            await self._channel.basic_ack(end, multiple=True)
        except (aiormq.exceptions.AMQPError, RuntimeError) as exc:
            log.warning("could not ack messages up to %s: %s", end, exc)
