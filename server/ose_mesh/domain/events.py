"""Events carried by the bus."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class MessagePriority(IntEnum):
    """The four levels of the reference, each an AMQP priority: LOW = 2, NORMAL = 5,
    HIGH = 7, CRITICAL = 9. An event carries any AMQP priority 0-9 exactly (a level is one
    of them); `from_number` says which level a number falls in: 0-3 LOW, 4-5
    NORMAL, 6-7 HIGH, 8-9 CRITICAL."""

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


def exact_priority(number: int | None) -> int:
    """A number received as it is (a level's member when it is one), NORMAL when absent."""
    if number is None:
        return MessagePriority.NORMAL
    return MessagePriority(number) if number in MessagePriority._value2member_map_ else number


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class EventMessage:
    event_type: str
    source_service: str
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = MessagePriority.NORMAL  # the AMQP priority, 0-9; the levels are four of them
    correlation_id: str | None = None
    timestamp: datetime = field(default_factory=_now)
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=_new_id)
    reply_to: str | None = None
