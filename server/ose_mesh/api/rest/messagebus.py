"""REST routes of the message bus (the reference's paths), over the outbox."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh.api.json_input import JsonRefused, parse_json
from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases, whole_number_param
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core.broker import EVENTS, Listing
from ose_mesh.domain import EventMessage, InvalidField

MAX_PAGE_SIZE = 500
MAX_PAGES = 1_000_000


async def _structured_cloud_event(request: Request) -> tuple[models.PublishBody, EventMessage]:
    """`application/cloudevents+json`: a structured CloudEvent becomes the same publish,
    keeping its own `id` (the dedupe and tracing key) and `time`."""
    try:
        data = parse_json(await request.body())
    except JsonRefused as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("A structured CloudEvent must be a JSON object.")
    if data.get("specversion") != "1.0":
        raise BadRequest("specversion: must be '1.0'")
    source = data.get("source", "")
    body = models.PublishBody.model_validate(
        {
            "exchange": data.get("exchange", EVENTS),
            "event_type": data.get("type", ""),
            "source_service": source,
            "payload": data.get("data", {}),
            "routing_key": data.get("routingkey")
            or (f"{routing_word(source)}.{data.get('type')}" if isinstance(source, str) else None),
            "correlation_id": data.get("correlationid"),
        }
    )
    event = body.to_event()
    event_id, time = data.get("id"), data.get("time")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
        raise InvalidField("id", "must be a string of 1 to 64 characters")
    event = replace(event, event_id=event_id)
    if time is not None:
        event = replace(event, timestamp=_rfc3339(time))
    return body, event


def _rfc3339(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidField("time", f"must be an RFC 3339 time with its offset, got {value!r}")
    return moment


def routing_word(source: str) -> str:
    """A CloudEvent's `source` as one routing-key word: a URI's last path segment (or its
    host), with every character a topic pattern treats specially made a '-'
    ("https://shop.example/orders" -> "orders", "/sensors/tn-1" -> "tn-1")."""
    parts = urlsplit(source)
    segments = [segment for segment in parts.path.split("/") if segment]
    word = segments[-1] if segments else parts.hostname or source
    return re.sub(r"[^A-Za-z0-9_-]", "-", word) or "unknown"


async def publish(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/cloudevents+json":
        body, event = await _structured_cloud_event(request)
    else:
        body = await read_body(request, models.PublishBody)
        event = body.to_event()
    receipt = await use_cases(request).events.publish(event, body.exchange, body.routing_key)
    answer: models.Receipt = {
        "event_id": receipt.event_id,
        "status": receipt.state,
        "routed": receipt.routed,
        "exchange": receipt.exchange,
        "routing_key": receipt.routing_key,
    }
    return JSONResponse(answer, status_code=200 if receipt.state == "confirmed" else 202)


async def status(request: Request) -> JSONResponse:
    found = await use_cases(request).bus.status()
    answer: models.BusStatus = {
        "backend": found.backend,
        "connected": found.connected,
        "broker": found.broker,
        "published": found.published,
        "returned": found.returned,
        "refused": found.refused,
        "consumed": found.consumed,
        "dead_lettered": found.dead_lettered,
        "outbox_backlog": found.outbox_backlog,
        "webhooks": {
            "urls": found.webhooks.urls,
            "delivered": found.webhooks.delivered,
            "failed": found.webhooks.failed,
            "last_error": found.webhooks.last_error,
        },
    }
    return JSONResponse(answer)


def _paging(request: Request) -> tuple[int, int]:
    page = whole_number_param(request, "page", 1, 1, MAX_PAGES)
    return page, whole_number_param(request, "page_size", 100, 1, MAX_PAGE_SIZE)


def _page(found: Listing[Any]) -> models.Page:
    return {
        "page": found.page,
        "page_size": found.page_size,
        "page_count": found.page_count,
        "total": found.total,
        "source": found.source,
    }


async def exchanges(request: Request) -> JSONResponse:
    found = await use_cases(request).bus.exchanges(*_paging(request))
    answer: models.Exchanges = {
        "exchanges": [{"name": e.name, "type": e.type, "durable": e.durable} for e in found.items],
        **_page(found),
    }
    return JSONResponse(answer)


async def queues(request: Request) -> JSONResponse:
    found = await use_cases(request).bus.queues(*_paging(request))
    answer: models.Queues = {
        "queues": [
            {"name": q.name, "messages": q.message_count, "consumers": q.consumer_count}
            for q in found.items
        ],
        **_page(found),
    }
    return JSONResponse(answer)


TAG = "message bus"
PAGING = (
    Param("page", "query", Annotated[int, Field(ge=1, le=MAX_PAGES)], "Page, from 1"),
    Param(
        "page_size",
        "query",
        Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)],
        f"At most {MAX_PAGE_SIZE}",
    ),
)
operations = (
    Operation(
        "GET",
        "/api/v1/messagebus/status",
        "getBusStatus",
        "Bus connection, counters, outbox backlog",
        TAG,
        (Answer(200, models.BusStatus, "Status"),),
        endpoint=status,
    ),
    Operation(
        "POST",
        "/api/v1/messagebus/publish",
        "publishEvent",
        "Publish an event (through the outbox); also takes a structured CloudEvent",
        TAG,
        (
            Answer(200, models.Receipt, "Confirmed by the broker"),
            Answer(202, models.Receipt, "Queued: the broker is away, it goes out later"),
        ),
        errors=(400, 404, 413, 422, 503),
        body=models.PublishBody,
        form=False,
        any_object_bodies=("application/cloudevents+json",),
        endpoint=publish,
    ),
    Operation(
        "GET",
        "/api/v1/messagebus/exchanges",
        "listExchanges",
        "Exchanges, a page at a time",
        TAG,
        (Answer(200, models.Exchanges, "A page"),),
        errors=(400,),
        params=PAGING,
        endpoint=exchanges,
    ),
    Operation(
        "GET",
        "/api/v1/messagebus/queues",
        "listQueues",
        "Queues with their counts, a page at a time",
        TAG,
        (Answer(200, models.Queues, "A page"),),
        errors=(400,),
        params=PAGING,
        endpoint=queues,
    ),
)
