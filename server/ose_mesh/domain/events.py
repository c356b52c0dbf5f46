"""Events carried by the bus."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any


class MessagePriority(Enum):
    """The four levels of the reference, and the AMQP priority (0-9) each is sent with.

    LOW = 2, NORMAL = 5, HIGH = 7, CRITICAL = 9. A number received from REST or from the
    wire maps back as 0-3 LOW, 4-5 NORMAL, 6-7 HIGH, 8-9 CRITICAL.
    """

    LOW = 2
    NORMAL = 5
    HIGH = 7
    CRITICAL = 9

    @classmethod
    def from_number(cls, number: int | None) -> MessagePriority:
        if number is None:
            return cls.NORMAL
        if number <= 3:
            return cls.LOW
        if number <= 5:
            return cls.NORMAL
        if number <= 7:
            return cls.HIGH
        return cls.CRITICAL


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class EventMessage:
    event_type: str
    source_service: str
    payload: dict[str, Any] = field(default_factory=dict)
    priority: MessagePriority = MessagePriority.NORMAL
    correlation_id: str | None = None
    timestamp: datetime = field(default_factory=_now)
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=_new_id)
    reply_to: str | None = None
