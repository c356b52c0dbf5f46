"""What the mesh reads from an OpenTelemetry span, and how a span names a dependency.

A span is reduced to `SpanFacts` as soon as it is decoded: the few attributes that say whom
it calls (OpenTelemetry's semantic conventions, old and new names), never the rest. Spans
themselves are not kept.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from ose_mesh.domain.dependency import Relationship
from ose_mesh.domain.service import SERVICE_ID_PATTERN


class SpanKind(IntEnum):
    """OTLP's span kinds (the protobuf enum's numbers)."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


# The attributes read, by the name they are kept under; older spellings map onto the new.
WANTED_ATTRIBUTES = {
    "peer.service": "peer.service",
    "server.address": "server.address",
    "net.peer.name": "server.address",
    "db.system": "db.system",
    "db.system.name": "db.system",
    "messaging.system": "messaging.system",
    "rpc.system": "rpc.system",
}
MAX_ATTRIBUTE_LENGTH = 200  # a longer value names no service: it is dropped, not cut
CACHE_SYSTEMS = frozenset({"redis", "memcached", "valkey"})


class SpanFacts(NamedTuple):
    service: str  # the resource's service.name, already checked by observed_name
    kind: SpanKind
    trace_id: bytes
    span_id: bytes
    parent_id: bytes  # b"" for a root span
    link_id: bytes  # the first link's span id (a consumer's producer), or b""
    duration_ms: float
    error: bool  # status code ERROR
    attributes: dict[str, str]  # only WANTED_ATTRIBUTES, under their new names


def observed_name(value: object) -> str | None:
    """A service name as spans give it, if it can name a mesh service: the service-id
    alphabet, at most 200 characters. Anything else (control characters, markup, huge
    strings) names nothing and is dropped."""
    if isinstance(value, str) and SERVICE_ID_PATTERN.fullmatch(value):
        return value
    return None


def kept_attribute(value: object) -> str | None:
    """An attribute value worth keeping: a short string; the rest is dropped."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ATTRIBUTE_LENGTH:
        return value
    return None


class Call(NamedTuple):
    """What a client or producer span says about its callee, before any pairing."""

    relationship: Relationship
    named: str | None  # peer.service: the callee named outright
    address: str | None  # server.address: a host to look up among the services
    fallback: str | None  # what to call the callee when nothing better is found


def call_of(span: SpanFacts) -> Call:
    """The callee hints of a client, producer or consumer span."""
    attributes = span.attributes
    named = observed_name(attributes.get("peer.service"))
    address = attributes.get("server.address")
    database = attributes.get("db.system")
    messaging = attributes.get("messaging.system")
    if database is not None:
        relationship = (
            Relationship.CACHE if database.lower() in CACHE_SYSTEMS else Relationship.DATABASE
        )
        return Call(relationship, named, address, observed_name(address) or observed_name(database))
    if messaging is not None or span.kind in (SpanKind.PRODUCER, SpanKind.CONSUMER):
        return Call(
            Relationship.MESSAGE_QUEUE,
            named,
            address,
            observed_name(address) or observed_name(messaging),
        )
    return Call(Relationship.SYNC_API, named, address, observed_name(address))
