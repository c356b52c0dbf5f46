"""strawberry's two WebSocket protocols, held to what they promise:

- a socket that has not sent `connection_init` within the view's init timeout is closed
  (4408), on the legacy `graphql-ws` protocol too, which has no such timeout of its own;
- a message that is valid JSON but not an object with a `type` (`[]`, `"x"`, `42`, `null`)
  closes the socket with 4400, as graphql-transport-ws specifies, instead of a traceback.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

Context = dict[str, Any]


def _is_message(message: object) -> bool:
    return isinstance(message, dict) and isinstance(message.get("type"), str)


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Any) -> None:
        if not _is_message(message):
            await self.handle_invalid_message("a message must be a JSON object with a 'type'")
            return
        await super().handle_message(message)


class LegacyWsHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle(self) -> None:
        timer = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            timer.cancel()
            with suppress(asyncio.CancelledError):
                await timer

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_acknowledged:
            await self.websocket.close(code=4408, reason="Connection initialisation timeout")

    async def handle_message(self, message: Any) -> None:
        try:
            if not _is_message(message):
                raise TypeError("not a message")
            await super().handle_message(message)
        except (KeyError, TypeError):  # a `start` without payload or query, too
            await self.websocket.close(code=4400, reason="Invalid message")
