"""The RabbitMQ backend (aiormq): publisher confirms on, manual acks, one channel per consumer.

AMQP closes a channel on any refused operation (404, 406…); this backend opens a fresh
channel for the next operation and raises our own BrokerError for the refused one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

import aiormq
from aiormq.abc import AbstractChannel, AbstractConnection, DeliveredMessage
from pamqp.commands import Basic

from ose_mesh.adapters.broker.acks import ChannelSettler, Settle, settle_alone
from ose_mesh.core.broker import (
    BrokerError,
    BrokerUnavailable,
    Delivery,
    ExchangeType,
    Handler,
    NotFound,
    PreconditionFailed,
    Properties,
    QueueInfo,
)
from ose_mesh.domain.redaction import safe_url, scrub

log = logging.getLogger(__name__)


class AmqpBroker:
    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._consumers: dict[str, tuple[AbstractChannel, ChannelSettler]] = {}
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        """(Re)connect; channels and consumers of an earlier connection are gone."""
        if self._connection is not None:
            await self.close()
        self._channel = None
        self._consumers.clear()
        try:
            self._connection = await aiormq.connect(self.url)
        except (OSError, aiormq.exceptions.AMQPError) as exc:
            # aiormq's messages may carry the URL, password included
            where = safe_url(self.url)
            raise BrokerUnavailable(
                f"cannot reach RabbitMQ at {where}: {scrub(str(exc), self.url)}"
            ) from None

    async def close(self) -> None:
        for _, settler in self._consumers.values():
            await settler.flush()
        if self._connection is not None:
            with suppress(OSError, aiormq.exceptions.AMQPError, RuntimeError):
                await self._connection.close()
        self._connection = None
        self._channel = None
        self._consumers.clear()

    async def _open_channel(self) -> AbstractChannel:
        if not self.connected or self._connection is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        return await self._connection.channel(publisher_confirms=True, on_return_raises=False)

    @asynccontextmanager
    async def _using(self) -> AsyncIterator[AbstractChannel]:
        """The shared channel, reopened after the broker closed it; errors translated."""
        if self._channel is None or self._channel.is_closed:
            async with self._lock:
                if self._channel is None or self._channel.is_closed:
                    self._channel = await self._open_channel()
        try:
            yield self._channel
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise NotFound(_reply_text(exc)) from exc
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise PreconditionFailed(_reply_text(exc)) from exc
        except aiormq.exceptions.ChannelClosed as exc:
            # Another refusal (403 access refused, 405 locked…) keeps its code, so callers
            # can tell "no" from "not now".
            raise BrokerError(_reply_code(exc), _reply_text(exc)) from exc
        except (aiormq.exceptions.AMQPConnectionError, ConnectionError, RuntimeError) as exc:
            raise BrokerUnavailable(f"RabbitMQ connection lost: {exc}") from exc

    # -- topology ------------------------------------------------------------------------

    async def declare_exchange(
        self, name: str, type: ExchangeType, *, durable: bool = True, passive: bool = False
    ) -> None:
        async with self._using() as channel:
            await channel.exchange_declare(
                name, exchange_type=type.value, durable=durable, passive=passive
            )

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        passive: bool = False,
    ) -> QueueInfo:
        async with self._using() as channel:
            ok = await channel.queue_declare(
                name,
                durable=durable,
                exclusive=exclusive,
                auto_delete=auto_delete,
                arguments=arguments,
                passive=passive,
            )
        return QueueInfo(ok.queue or name, ok.message_count or 0, ok.consumer_count or 0)

    async def bind(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        async with self._using() as channel:
            await channel.queue_bind(queue, exchange, routing_key=routing_key, arguments=arguments)

    async def delete_queue(self, name: str) -> None:
        async with self._using() as channel:
            await channel.queue_delete(name)

    async def delete_exchange(self, name: str) -> None:
        async with self._using() as channel:
            await channel.exchange_delete(name)

    # -- publishing ----------------------------------------------------------------------

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties,
        *,
        mandatory: bool = False,
    ) -> bool:
        async with self._using() as channel:
            confirmation = await channel.basic_publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=_to_amqp(properties),
                mandatory=mandatory,
            )
        if isinstance(confirmation, DeliveredMessage):
            return False  # returned: no queue took it
        if isinstance(confirmation, Basic.Nack):
            raise BrokerError(500, "RabbitMQ refused the message (nack)")
        return True

    # -- consuming -----------------------------------------------------------------------

    async def consume(self, queue: str, handler: Handler, *, prefetch: int = 10) -> str:
        channel = await self._open_channel()
        try:
            await channel.basic_qos(prefetch_count=prefetch)
            settler = ChannelSettler(channel, prefetch)

            async def on_message(message: DeliveredMessage) -> None:
                try:
                    await handler(_delivery(message, settler.settle))
                except Exception:
                    log.exception("consumer of %s failed on a message", queue)

            ok = await channel.basic_consume(queue, on_message, no_ack=False)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise NotFound(_reply_text(exc)) from exc
        tag = str(ok.consumer_tag)
        self._consumers[tag] = (channel, settler)
        return tag

    async def cancel(self, consumer_tag: str) -> None:
        consumer = self._consumers.pop(consumer_tag, None)
        if consumer is None:
            return
        channel, settler = consumer
        if not channel.is_closed:
            await settler.flush()  # acks held for a batch, before the channel goes
            await channel.close()

    async def get(self, queue: str) -> Delivery | None:
        async with self._using() as channel:
            message = await channel.basic_get(queue, no_ack=False)
        if isinstance(message.delivery, Basic.GetEmpty):
            return None
        return _delivery(message, partial(settle_alone, channel))


# aiormq raises one class per reply code it knows (ChannelAccessRefused for 403…), with the
# text only; other codes come as ChannelClosed(code, text).
_REPLY_CODES: dict[type[BaseException], int] = {
    kind: code for code, kind in aiormq.channel.EXCEPTION_MAPPING.items()
}


def _reply_code(exc: BaseException) -> int:
    """The AMQP reply code the broker closed the channel with (500 when it gave none)."""
    code = _REPLY_CODES.get(type(exc))
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    return code or 500


def _reply_text(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    for arg in args:
        text = getattr(arg, "reply_text", None)
        if text:
            return str(text)
    return str(exc)


def _to_amqp(properties: Properties) -> Basic.Properties:
    return Basic.Properties(
        content_type=properties.content_type,
        delivery_mode=properties.delivery_mode,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        expiration=properties.expiration,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        message_type=properties.type,
        app_id=properties.app_id,
        headers=properties.headers or None,
    )


def _from_amqp(properties: Basic.Properties) -> Properties:
    return Properties(
        content_type=properties.content_type,
        delivery_mode=properties.delivery_mode,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        expiration=properties.expiration,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.message_type,
        app_id=properties.app_id,
        headers=dict(properties.headers or {}),
    )


def _delivery(message: DeliveredMessage, settle: Settle) -> Delivery:
    frame = message.delivery
    tag = int(getattr(frame, "delivery_tag", 0) or 0)
    return Delivery(
        message.body,
        message.exchange or "",
        message.routing_key or "",
        _from_amqp(message.header.properties),
        bool(getattr(frame, "redelivered", False)),
        tag,
        partial(settle, tag),
    )
