"""ServiceEventBus: one service's view of the bus, as the reference shows it.

- `@on_event(pattern)`: the service's durable queue `{service}.events` is bound to
  `ose.events` with the pattern; instances of one service share that queue (each event is
  handled once). Decorating after `initialize()` binds at once.
- `emit(type, payload)`: to `ose.events` with routing key = the event type.
- `broadcast(type, payload)`: through the `ose.broadcast` fanout; every ServiceEventBus
  (every instance) receives it on its own exclusive queue.
- `@on_request(name)` / `request(service, name, payload)`: RPC through `ose.tasks` with
  routing key `{service}.{name}`.

A handler's pattern is matched (topic rules) against the event type, and against
`{source_service}.{event_type}` for events published with the default routing key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ose_mesh.bus.message_bus import (
    BROADCAST,
    EVENTS,
    TASKS,
    EventHandler,
    MessageBus,
    RpcHandler,
)
from ose_mesh.domain import EventMessage, MessagePriority
from ose_mesh.domain.routing import topic_matches

H = TypeVar("H", bound=Callable[..., Any])


class ServiceEventBus:
    def __init__(self, service_name: str, bus: MessageBus) -> None:
        self.service_name = service_name
        self.bus = bus
        self.queue = f"{service_name}.events"
        self.rpc_queue = f"{service_name}.rpc"
        self._handlers: list[tuple[str, EventHandler]] = []
        self._responders: dict[str, RpcHandler] = {}
        self._consumers: list[str] = []
        self._bindings: set[asyncio.Task[None]] = set()
        self._initialized = False

    async def initialize(self) -> None:
        if not self.bus.connected:
            await self.bus.connect()
        await self.bus.declare_queue(self.queue)
        for pattern, _ in self._handlers:
            await self.bus.bind(self.queue, EVENTS, pattern)
        self._consumers.append(await self.bus.consume(self.queue, self._dispatch))
        mine = await self.bus.declare_queue("", durable=False, exclusive=True, auto_delete=True)
        await self.bus.bind(mine, BROADCAST, "")
        self._consumers.append(await self.bus.consume(mine, self._dispatch))
        await self.bus.declare_queue(self.rpc_queue)
        for name in self._responders:
            await self.bus.bind(self.rpc_queue, TASKS, f"{self.service_name}.{name}")
        self._consumers.append(await self.bus.serve_rpc(self.rpc_queue, self._answer))
        self._initialized = True

    async def close(self) -> None:
        for tag in self._consumers:
            await self.bus.cancel(tag)
        self._consumers.clear()
        self._initialized = False

    async def ready(self) -> None:
        """Wait until bindings made by decorators after initialize() are in place."""
        if self._bindings:
            await asyncio.gather(*self._bindings)

    # -- handlers ------------------------------------------------------------------------

    def on_event(self, pattern: str) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self._handlers.append((pattern, handler))
            if self._initialized:
                self._bind_later(self.queue, EVENTS, pattern)
            return handler

        return register

    def on_request(self, name: str) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self._responders[name] = handler
            if self._initialized:
                self._bind_later(self.rpc_queue, TASKS, f"{self.service_name}.{name}")
            return handler

        return register

    def _bind_later(self, queue: str, exchange: str, key: str) -> None:
        task = asyncio.get_running_loop().create_task(self.bus.bind(queue, exchange, key))
        self._bindings.add(task)
        task.add_done_callback(self._bindings.discard)

    async def _dispatch(self, event: EventMessage) -> None:
        keys = (event.event_type, f"{event.source_service}.{event.event_type}")
        for pattern, handler in list(self._handlers):
            if any(topic_matches(pattern, key) for key in keys):
                await handler(event)

    async def _answer(self, request: EventMessage) -> dict[str, Any]:
        responder = self._responders.get(request.event_type)
        if responder is None:
            return {"error": f"{self.service_name} does not answer '{request.event_type}'"}
        return await responder(request)

    # -- sending -------------------------------------------------------------------------

    def _event(self, event_type: str, payload: dict[str, Any], **fields: Any) -> EventMessage:
        return EventMessage(
            event_type=event_type, source_service=self.service_name, payload=payload, **fields
        )

    async def emit(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        priority: int = MessagePriority.NORMAL,
        correlation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> EventMessage:
        event = self._event(
            event_type,
            payload,
            priority=priority,
            correlation_id=correlation_id,
            metadata=metadata or {},
        )
        await self.bus.publish_event(EVENTS, event, routing_key=event_type)
        return event

    async def broadcast(self, event_type: str, payload: dict[str, Any]) -> EventMessage:
        event = self._event(event_type, payload)
        await self.bus.publish_event(BROADCAST, event, routing_key=event_type)
        return event

    async def request(
        self, service: str, name: str, payload: dict[str, Any], timeout: float = 5.0
    ) -> dict[str, Any]:
        reply = await self.bus.rpc(
            TASKS, f"{service}.{name}", self._event(name, payload), timeout=timeout
        )
        return reply.payload
