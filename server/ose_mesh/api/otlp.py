"""OTLP/HTTP trace requests (protobuf or JSON; gzip, deflate or neither) read into SpanFacts.

Protobuf is parsed by the protobuf runtime with OpenTelemetry's own message classes. JSON
follows OTLP's JSON mapping (lowerCamelCase names, hex ids, enums as numbers, 64-bit numbers
as strings or numbers) and is walked directly: the protobuf JSON parser would read the hex
ids as base64. Either way a request that does not fit the schema raises MalformedTraces
with what was wrong, before anything is counted.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from ose_mesh.domain.traces import (
    WANTED_ATTRIBUTES,
    SpanFacts,
    SpanKind,
    kept_attribute,
    observed_name,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_DECODED_BYTES = 16 * 1024 * 1024  # what a compressed body may grow to
MAX_SPANS = 50_000  # per request (an SDK sends 512, a Collector 8,192 by default)
ERROR_STATUS = 2  # Status.StatusCode.STATUS_CODE_ERROR
_INVALID_ARGUMENT = 3  # google.rpc.Code


class MalformedTraces(ValueError):
    """The request is not an OTLP trace export; the message says where it breaks."""


class Decoded:
    """The spans of one request, and how many were rejected (no usable service.name)."""

    __slots__ = ("rejected", "spans")

    def __init__(self) -> None:
        self.spans: list[SpanFacts] = []
        self.rejected = 0


def decode(body: bytes, content_type: str, content_encoding: str) -> Decoded:
    encoding = content_encoding.strip().lower()
    if encoding in _WINDOW_BITS:
        body = _inflate(body, encoding)
    elif encoding not in ("", "identity"):
        raise MalformedTraces(
            f"Content-Encoding {content_encoding[:40]!r}: only gzip and deflate are accepted"
        )
    media = content_type.split(";")[0].strip().lower()
    if media == PROTOBUF:
        return _from_protobuf(body)
    if media == JSON:
        return _from_json(body)
    raise MalformedTraces(f"Content-Type must be {PROTOBUF} or {JSON}, got {media or 'none'!r}")


_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _inflate(body: bytes, encoding: str) -> bytes:
    """Decompress, refusing what would grow beyond MAX_DECODED_BYTES (a zip bomb)."""
    inflater = zlib.decompressobj(_WINDOW_BITS[encoding])
    try:
        data = inflater.decompress(body, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise MalformedTraces(f"the {encoding} body cannot be read: {exc}") from None
    if inflater.unconsumed_tail:
        raise MalformedTraces(f"the {encoding} body grows beyond {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise MalformedTraces(f"the {encoding} body is cut short")
    return data


# -- answers -------------------------------------------------------------------------------


def success(media: str, rejected: int, message: str) -> bytes:
    """ExportTraceServiceResponse, with partial_success when spans were rejected."""
    if media == JSON:
        if not rejected:
            return b"{}"
        partial = {"rejectedSpans": str(rejected), "errorMessage": message}
        return json.dumps({"partialSuccess": partial}).encode()
    answer = trace_service_pb2.ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = message
    return answer.SerializeToString()


def failure(media: str, message: str) -> bytes:
    """The google.rpc.Status OTLP asks for with a 4xx."""
    if media == JSON:
        return json.dumps({"code": _INVALID_ARGUMENT, "message": message}).encode()
    status: bytes = status_pb2.Status(code=_INVALID_ARGUMENT, message=message).SerializeToString()
    return status


# -- protobuf ------------------------------------------------------------------------------


def _from_protobuf(body: bytes) -> Decoded:
    request = trace_service_pb2.ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedTraces(
            f"the protobuf body is not an ExportTraceServiceRequest: {exc}"
        ) from None
    _count_spans(
        len(scope_spans.spans)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )
    decoded = Decoded()
    for resource_spans in request.resource_spans:
        service = _service_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            if service is None:
                decoded.rejected += len(scope_spans.spans)
                continue
            for span in scope_spans.spans:
                attributes: dict[str, str] = {}
                for pair in span.attributes:
                    wanted = WANTED_ATTRIBUTES.get(pair.key)
                    if wanted is not None and pair.value.HasField("string_value"):
                        value = kept_attribute(pair.value.string_value)
                        if value is not None:
                            attributes[wanted] = value
                decoded.spans.append(
                    SpanFacts(
                        service,
                        _kind(span.kind),
                        span.trace_id,
                        span.span_id,
                        span.parent_span_id,
                        span.links[0].span_id if span.links else b"",
                        _duration_ms(span.start_time_unix_nano, span.end_time_unix_nano),
                        span.status.code == ERROR_STATUS,
                        attributes,
                    )
                )
    return decoded


def _service_of(attributes: Iterable[common_pb2.KeyValue]) -> str | None:
    for pair in attributes:
        if pair.key == "service.name":
            return observed_name(pair.value.string_value)
    return None


# -- JSON ----------------------------------------------------------------------------------


def _from_json(body: bytes) -> Decoded:
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedTraces(f"the body is not JSON: {exc}") from None
    decoded = Decoded()
    for r, resource_spans in _items(request, "resourceSpans", "request"):
        where = f"resourceSpans[{r}]"
        resource = _object(resource_spans.get("resource", {}), f"{where}.resource")
        service = None
        for _, pair in _items(resource, "attributes", f"{where}.resource"):
            if pair.get("key") == "service.name":
                service = observed_name(_string_value(pair, f"{where}.resource.attributes"))
        for s, scope_spans in _items(resource_spans, "scopeSpans", where):
            spans = list(_items(scope_spans, "spans", f"{where}.scopeSpans[{s}]"))
            _count_spans([len(decoded.spans) + decoded.rejected + len(spans)])
            if service is None:
                decoded.rejected += len(spans)
                continue
            for n, span in spans:
                decoded.spans.append(
                    _json_span(service, span, f"{where}.scopeSpans[{s}].spans[{n}]")
                )
    return decoded


def _json_span(service: str, span: dict[str, Any], where: str) -> SpanFacts:
    attributes: dict[str, str] = {}
    for _, pair in _items(span, "attributes", where):
        wanted = WANTED_ATTRIBUTES.get(pair.get("key"))  # type: ignore[arg-type]
        if wanted is not None:
            value = kept_attribute(_string_value(pair, f"{where}.attributes"))
            if value is not None:
                attributes[wanted] = value
    links = list(_items(span, "links", where))
    status = _object(span.get("status", {}), f"{where}.status")
    return SpanFacts(
        service,
        _kind(_number(span.get("kind", 0), f"{where}.kind")),
        _hex_id(span.get("traceId"), 16, f"{where}.traceId", required=True),
        _hex_id(span.get("spanId"), 8, f"{where}.spanId", required=True),
        _hex_id(span.get("parentSpanId"), 8, f"{where}.parentSpanId"),
        _hex_id(links[0][1].get("spanId"), 8, f"{where}.links[0].spanId") if links else b"",
        _duration_ms(
            _number(span.get("startTimeUnixNano", 0), f"{where}.startTimeUnixNano"),
            _number(span.get("endTimeUnixNano", 0), f"{where}.endTimeUnixNano"),
        ),
        _number(status.get("code", 0), f"{where}.status.code") == ERROR_STATUS,
        attributes,
    )


def _items(holder: Any, key: str, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of the list `holder[key]` (absent: none), numbered."""
    holder = _object(holder, where)
    values = holder.get(key, [])
    if not isinstance(values, list):
        raise MalformedTraces(f"{where}.{key}: must be a list")
    for index, value in enumerate(values):
        yield index, _object(value, f"{where}.{key}[{index}]")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedTraces(f"{where}: must be an object")
    return value


def _string_value(pair: dict[str, Any], where: str) -> str | None:
    value = _object(pair.get("value", {}), f"{where}.value")
    text = value.get("stringValue")
    return text if isinstance(text, str) else None


def _number(value: Any, where: str) -> int:
    """An integer as OTLP JSON writes it: a number, or a string of digits for 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedTraces(f"{where}: must be an integer")
    if isinstance(value, str):
        if not value.isdigit() or len(value) > 20:
            raise MalformedTraces(f"{where}: must be an integer, got {value[:40]!r}")
        return int(value)
    return value


def _hex_id(value: Any, size: int, where: str, *, required: bool = False) -> bytes:
    if value is None or value == "":
        if required:
            raise MalformedTraces(f"{where}: is required")
        return b""
    if not isinstance(value, str) or len(value) != 2 * size:
        raise MalformedTraces(f"{where}: must be {2 * size} hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise MalformedTraces(f"{where}: must be {2 * size} hex digits") from None


# -- shared --------------------------------------------------------------------------------


def _count_spans(counts: Iterable[int]) -> None:
    if sum(counts) > MAX_SPANS:
        raise MalformedTraces(f"more than {MAX_SPANS} spans in one request: send smaller batches")


_KINDS = tuple(SpanKind)  # by number: a tuple index costs less than the enum's lookup


def _kind(value: int) -> SpanKind:
    if 0 <= value < len(_KINDS):
        return _KINDS[value]
    return SpanKind.UNSPECIFIED  # a kind from a newer OTLP: nothing to pair


def _duration_ms(start: int, end: int) -> float:
    return max(0.0, (end - start) / 1e6) if end and start else 0.0
