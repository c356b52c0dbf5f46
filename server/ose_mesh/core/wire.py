"""EventMessage on the wire: CloudEvents 1.0 in AMQP binary mode.

Body: the JSON payload (content-type application/json). Headers: cloudEvents_id,
cloudEvents_source (the source service), cloudEvents_type (the event type),
cloudEvents_specversion "1.0", cloudEvents_time, cloudEvents_correlationid. AMQP properties
repeat what AMQP tools look at: message_id, correlation_id, timestamp, priority, app_id,
type. Metadata travels in the `ose_metadata` header.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ose_mesh.core.broker import Delivery, Properties
from ose_mesh.domain import EventMessage, exact_priority

PERSISTENT = 2


class MalformedEvent(ValueError):
    """A delivery that is not an event of ours (bad JSON, payload not an object)."""


def encode(event: EventMessage, *, persistent: bool = True) -> tuple[bytes, Properties]:
    headers: dict[str, Any] = {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": event.event_id,
        "cloudEvents_source": event.source_service,
        "cloudEvents_type": event.event_type,
        "cloudEvents_time": event.timestamp.astimezone(UTC).isoformat(),
    }
    if event.correlation_id:
        headers["cloudEvents_correlationid"] = event.correlation_id
    if event.metadata:
        headers["ose_metadata"] = json.dumps(event.metadata)
    properties = Properties(
        content_type="application/json",
        delivery_mode=PERSISTENT if persistent else 1,
        priority=int(event.priority),
        correlation_id=event.correlation_id,
        reply_to=event.reply_to,
        message_id=event.event_id,
        timestamp=event.timestamp.astimezone(UTC).replace(microsecond=0),
        type=event.event_type,
        app_id=event.source_service,
        headers=headers,
    )
    return json.dumps(event.payload, separators=(",", ":")).encode(), properties


def decode(delivery: Delivery) -> EventMessage:
    try:
        payload = json.loads(delivery.body) if delivery.body else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise MalformedEvent(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedEvent("the payload must be a JSON object")
    props = delivery.properties
    if (props.content_type or "").startswith(STRUCTURED):
        return _structured(payload, delivery)
    headers = props.headers or {}
    metadata = headers.get("ose_metadata")
    return EventMessage(
        event_type=str(headers.get("cloudEvents_type") or props.type or delivery.routing_key),
        source_service=str(headers.get("cloudEvents_source") or props.app_id or "unknown"),
        payload=payload,
        priority=exact_priority(props.priority),
        correlation_id=props.correlation_id or headers.get("cloudEvents_correlationid"),
        timestamp=_time(headers.get("cloudEvents_time"), props.timestamp),
        metadata=json.loads(metadata) if isinstance(metadata, str) else {},
        event_id=str(headers.get("cloudEvents_id") or props.message_id or ""),
        reply_to=props.reply_to,
    )


STRUCTURED = "application/cloudevents+json"


def _structured(envelope: dict[str, Any], delivery: Delivery) -> EventMessage:
    """A structured-mode CloudEvent: the envelope carries the attributes, `data` the
    payload (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/amqp-protocol-binding.md)."""
    data = envelope.get("data", {})
    if not isinstance(data, dict):
        raise MalformedEvent("the CloudEvent's data must be a JSON object")
    metadata = envelope.get("ose_metadata")
    return EventMessage(
        event_type=str(envelope.get("type") or delivery.routing_key),
        source_service=str(envelope.get("source") or "unknown"),
        payload=data,
        priority=exact_priority(delivery.properties.priority),
        correlation_id=_text(envelope.get("correlationid")) or delivery.properties.correlation_id,
        timestamp=_time(envelope.get("time"), delivery.properties.timestamp),
        metadata=metadata if isinstance(metadata, dict) else {},
        event_id=str(envelope.get("id") or delivery.properties.message_id or ""),
        reply_to=delivery.properties.reply_to,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(header: Any, stamp: datetime | None) -> datetime:
    if isinstance(header, str):
        try:
            return datetime.fromisoformat(header)
        except ValueError:
            pass
    if stamp is not None:
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return datetime.now(UTC)
