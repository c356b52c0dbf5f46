"""RabbitMQ's refusals keep their reply code through the adapter, so the outbox relay can
tell a refusal (dropped, its publisher told) from a broker that is away (kept, retried)."""

from __future__ import annotations

import aiormq
import pytest

from ose_mesh.adapters.broker.amqp import _reply_code
from ose_mesh.core.broker import BrokerError


@pytest.mark.parametrize(
    ("raised", "code", "refused"),
    [
        (aiormq.exceptions.ChannelAccessRefused("ACCESS_REFUSED"), 403, True),
        (aiormq.exceptions.ChannelNotFoundEntity("NOT_FOUND"), 404, True),
        (aiormq.exceptions.ChannelPreconditionFailed("PRECONDITION_FAILED"), 406, True),
        (aiormq.exceptions.ChannelClosed(405, "RESOURCE_LOCKED"), 405, True),
        (aiormq.exceptions.ChannelClosed(None, None), 500, False),
    ],
)
def test_a_refusal_keeps_its_code(raised: Exception, code: int, refused: bool) -> None:
    assert _reply_code(raised) == code
    assert BrokerError(_reply_code(raised), "text").refused is refused
