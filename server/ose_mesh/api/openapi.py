"""The OpenAPI 3.1 document of the REST routes, served at /api/openapi.json.

Request bodies come from the pydantic models the routes validate with; response shapes are
written out here. tests/api/test_openapi.py keeps both honest: every route is documented,
every documented operation exists, and real answers validate against their schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh import __version__
from ose_mesh.api.rest.bodies import BeatBody, RegisterBody
from ose_mesh.api.rest.dependencies import MAX_DEPTH, DependencyBody
from ose_mesh.api.rest.messagebus import PublishBody
from ose_mesh.core import MAX_HISTORY, MAX_PAGE
from ose_mesh.domain import CheckType, DependencyType, HealthStatus, Relationship
from ose_mesh.domain.service import SERVICE_ID_PATTERN

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these properties; extra properties are allowed (clients must ignore
    fields they do not know, so adding one is not a breaking change)."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
STATUS: Schema = {"type": "string", "enum": [s.value for s in HealthStatus]}
STRINGS = array(STRING)
SERVICE_ID: Schema = {"type": "string", "pattern": SERVICE_ID_PATTERN.pattern}


def _components() -> dict[str, Schema]:
    edge_types = [t.value for t in DependencyType] + ["circular"]
    schemas: dict[str, Schema] = {
        "Error": obj(
            {"error": STRING, "detail": STRING},
            {"field": STRING, "service_id": STRING, "exchange": STRING, "problems": array(obj({}))},
        ),
        "Metrics": obj(
            {
                "heartbeat_count": INTEGER,
                "missed_heartbeats": INTEGER,
                "consecutive_failures": INTEGER,
                "average_latency_ms": nullable(NUMBER),
                "max_latency_ms": nullable(NUMBER),
                "min_latency_ms": nullable(NUMBER),
                "p50_latency_ms": nullable(NUMBER),
                "p95_latency_ms": nullable(NUMBER),
                "p99_latency_ms": nullable(NUMBER),
                "uptime_seconds": NUMBER,
                "uptime_percentage": NUMBER,
                "uptime_24h": nullable(NUMBER),
                "uptime_7d": nullable(NUMBER),
                "uptime_30d": nullable(NUMBER),
                "last_heartbeat": nullable(TIME),
                "seconds_since_last": nullable(NUMBER),
                "flap_count": INTEGER,
            }
        ),
        "CheckConfig": obj(
            {
                "interval_seconds": NUMBER,
                "timeout_seconds": NUMBER,
                "max_failures": INTEGER,
                "check_type": {"type": "string", "enum": [c.value for c in CheckType]},
                "probe_timeout_seconds": NUMBER,
                "recovery_successes": INTEGER,
                "latency_threshold_ms": nullable(NUMBER),
                "health_url": nullable(STRING),
                "host": nullable(STRING),
                "port": nullable(INTEGER),
            }
        ),
        "ServiceHealth": obj(
            {
                "service_id": STRING,
                "service_name": STRING,
                "status": STATUS,
                "is_alive": BOOLEAN,
                "status_since": nullable(TIME),
                "reason": STRING,
                "root_causes": STRINGS,
                "cluster": nullable(STRING),
                "demo": BOOLEAN,
                "metrics": ref("Metrics"),
                "config": ref("CheckConfig"),
            },
            {
                "beat_token": {
                    "type": "string",
                    "description": "In the answer to a registration when tokens are on: the "
                    "service may push its beats with it instead of a write token.",
                }
            },
        ),
        "StatusChange": obj(
            {
                "service_id": STRING,
                "previous": STATUS,
                "current": STATUS,
                "at": TIME,
                "reason": STRING,
                "root_causes": STRINGS,
            }
        ),
        "Beat": obj(
            {
                "service_id": STRING,
                "status": STATUS,
                "is_alive": BOOLEAN,
                "heartbeat_count": INTEGER,
            }
        ),
        "Summary": obj(
            {
                "total": INTEGER,
                **{status.value: INTEGER for status in HealthStatus},
                "overall_status": STATUS,
                "average_uptime": nullable(NUMBER),
            }
        ),
        "Edge": obj(
            {
                "source": STRING,
                "target": STRING,
                "type": {"type": "string", "enum": edge_types},
                "declared_type": {"type": "string", "enum": [t.value for t in DependencyType]},
                "relationship": {"type": "string", "enum": [r.value for r in Relationship]},
                "description": nullable(STRING),
            }
        ),
        "Node": obj(
            {
                "id": STRING,
                "name": STRING,
                "status": STATUS,
                "cluster": nullable(STRING),
                "monitored": BOOLEAN,
            }
        ),
        "Graph": obj(
            {
                "total_services": INTEGER,
                "total_dependencies": INTEGER,
                "hub_services": STRINGS,
                "isolated_services": STRINGS,
                "circular_dependencies": array(STRINGS),
                "critical_path": STRINGS,
                "clusters": {"type": "object", "additionalProperties": STRINGS},
                "average_dependencies": NUMBER,
                "services": array(ref("Node")),
                "dependencies": array(ref("Edge")),
            }
        ),
        "Reached": obj({"service_id": STRING, "distance": INTEGER, "via": ref("Edge")}),
        "ServiceDependencies": obj(
            {
                "service_id": STRING,
                "direction": {"type": "string", "enum": ["dependencies", "dependents", "both"]},
                "depth": DEPTH,
            },
            {"dependencies": array(ref("Reached")), "dependents": array(ref("Reached"))},
        ),
        "ImpactEntry": obj({"service_id": STRING, "path": STRINGS}),
        "Impact": obj(
            {
                "service_id": STRING,
                "failed": array(ref("ImpactEntry")),
                "degraded": array(ref("ImpactEntry")),
                "unaffected": array(ref("ImpactEntry")),
            }
        ),
        "Receipt": obj(
            {
                "event_id": STRING,
                "status": {"type": "string", "enum": ["confirmed", "queued"]},
                "routed": nullable(BOOLEAN),
                "exchange": STRING,
                "routing_key": STRING,
            }
        ),
        "BusStatus": obj(
            {
                "backend": {"type": "string", "enum": ["memory", "rabbitmq"]},
                "connected": BOOLEAN,
                "broker": STRING,
                "published": INTEGER,
                "returned": INTEGER,
                "refused": INTEGER,
                "consumed": INTEGER,
                "dead_lettered": INTEGER,
                "outbox_backlog": INTEGER,
                "webhooks": obj(
                    {
                        "urls": INTEGER,
                        "delivered": INTEGER,
                        "failed": INTEGER,
                        "last_error": nullable(STRING),
                    }
                ),
            }
        ),
    }
    for item, fields in (
        ("exchanges", {"name": STRING, "type": STRING, "durable": BOOLEAN}),
        ("queues", {"name": STRING, "messages": INTEGER, "consumers": INTEGER}),
    ):
        schemas[item.capitalize()] = obj(
            {
                item: array(obj(fields)),
                "page": INTEGER,
                "page_size": INTEGER,
                "page_count": INTEGER,
                "total": INTEGER,
                "source": {"type": "string", "enum": ["management", "memory", "declared"]},
            }
        )
    for model in (RegisterBody, BeatBody, DependencyBody, PublishBody):
        schemas.update(_model_schemas(model))
    return schemas


def _model_schemas(model: type[BaseModel]) -> dict[str, Schema]:
    schema = model.model_json_schema(ref_template=REF)
    nested = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Schema]:
    meaning = {
        400: "Malformed request (bad JSON, bad query parameter)",
        401: "No token, or a token the server does not know",
        403: "A read token where a write token is needed",
        429: "Too many beats from this service; see Retry-After",
        404: "Not found",
        413: "Body too large",
        422: "A field is invalid; `field` names it",
        503: "The database cannot be reached; try again shortly",
    }
    return {str(code): _json(ref("Error"), meaning[code]) for code in codes}


def _body(model: type[BaseModel], *, form: bool = True, required: bool = True) -> Schema:
    content = {"application/json": {"schema": ref(model.__name__)}}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": ref(model.__name__)}
    return {"required": required, "content": content}


def _path(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": description,
    }


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _op(summary: str, tag: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "tags": [tag], "responses": responses, **extra}


SERVICE = {**_path("service_id", "The service's id"), "schema": SERVICE_ID}
DEPTH: Schema = {
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_DEPTH}, {"const": "all"}]
}
PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "Page, from 1"),
    _query("page_size", {"type": "integer", "minimum": 1, "maximum": 500}, "At most 500"),
]


def _paths() -> dict[str, Schema]:
    hb, deps, bus = "heartbeat", "dependencies", "message bus"
    analysed = "Analysis (cached until the graph changes)"
    return {
        "/api/v1/heartbeat/register": {
            "post": _op(
                "Register a service, or update it (same id)",
                hb,
                {
                    "200": _json(ref("ServiceHealth"), "Updated"),
                    "201": _json(ref("ServiceHealth"), "Registered"),
                    **_errors(400, 413, 422, 503),
                },
                requestBody=_body(RegisterBody),
            )
        },
        "/api/v1/heartbeat/register/{service_id}": {
            "delete": _op(
                "Stop monitoring a service and delete its history",
                hb,
                {
                    "200": _json(obj({"deregistered": STRING}), "Deregistered"),
                    **_errors(404, 503),
                },
                parameters=[SERVICE],
            )
        },
        "/api/v1/heartbeat/{service_id}/beat": {
            "post": _op(
                "Record a heartbeat pushed by the service (body optional)",
                hb,
                {"200": _json(ref("Beat"), "Recorded"), **_errors(400, 404, 413, 422, 429)},
                parameters=[SERVICE],
                requestBody=_body(BeatBody, required=False),
            )
        },
        "/api/v1/heartbeat/status": {
            "get": _op(
                "Every service's health, keyed by id",
                hb,
                {
                    "200": _json(
                        {"type": "object", "additionalProperties": ref("ServiceHealth")},
                        "Health by service id",
                    ),
                    **_errors(400),
                },
                parameters=[
                    _query("status", STATUS, "Only services with this status"),
                    _query("cluster", STRING, "Only services of this cluster"),
                    _query("search", STRING, "Id or name contains this text"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        "At most this many services, by id (default: all)",
                    ),
                    _query(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
                        "Skip this many services first (X-Total-Count says how many match)",
                    ),
                ],
            )
        },
        "/api/v1/heartbeat/status/{service_id}": {
            "get": _op(
                "One service's health",
                hb,
                {"200": _json(ref("ServiceHealth"), "Health"), **_errors(404)},
                parameters=[SERVICE],
            )
        },
        "/api/v1/heartbeat/status/{service_id}/history": {
            "get": _op(
                "Status transitions, newest first",
                hb,
                {"200": _json(array(ref("StatusChange")), "History"), **_errors(400, 404, 503)},
                parameters=[
                    SERVICE,
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY},
                        "How many (default 100)",
                    ),
                ],
            )
        },
        "/api/v1/heartbeat/summary": {
            "get": _op(
                "Counts per status and the overall status",
                hb,
                {"200": _json(ref("Summary"), "Summary")},
            )
        },
        "/api/v1/dependencies": {
            "post": _op(
                "Declare a dependency (source depends on target); again: update it",
                deps,
                {
                    "200": _json(ref("Edge"), "Updated"),
                    "201": _json(ref("Edge"), "Declared"),
                    **_errors(400, 413, 422, 503),
                },
                requestBody=_body(DependencyBody),
            )
        },
        "/api/v1/dependencies/{source}/{target}": {
            "delete": _op(
                "Remove a dependency",
                deps,
                {
                    "200": _json(
                        obj({"removed": obj({"source": STRING, "target": STRING})}), "Removed"
                    ),
                    **_errors(404, 503),
                },
                parameters=[
                    {**_path("source", "The dependent"), "schema": SERVICE_ID},
                    {**_path("target", "The dependency"), "schema": SERVICE_ID},
                ],
            )
        },
        "/api/v1/dependencies/graph": {
            "get": _op(
                "The whole graph with its analysis",
                deps,
                {"200": _json(ref("Graph"), "Graph")},
            )
        },
        "/api/v1/dependencies/service/{service_id}": {
            "get": _op(
                "What a service needs and what needs it",
                deps,
                {"200": _json(ref("ServiceDependencies"), "Neighbourhood"), **_errors(404, 422)},
                parameters=[
                    SERVICE,
                    _query(
                        "direction",
                        {
                            "type": "string",
                            "enum": [
                                "dependencies",
                                "dependents",
                                "both",
                                "upstream",
                                "downstream",
                            ],
                        },
                        "upstream = dependencies, downstream = dependents (as in Envoy)",
                    ),
                    _query(
                        "depth",
                        DEPTH,
                        "How far (default 1), or all",
                    ),
                ],
            )
        },
        "/api/v1/dependencies/visualize/{format}": {
            "get": _op(
                "The graph for Cytoscape.js, D3 or Mermaid",
                deps,
                {
                    "200": {
                        "description": "JSON for cytoscape and d3, Mermaid flowchart text",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/plain": {"schema": STRING},
                        },
                    },
                    **_errors(400),
                },
                parameters=[
                    {
                        "name": "format",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["cytoscape", "d3", "mermaid"]},
                    }
                ],
            )
        },
        "/api/v1/dependencies/analysis/circular": {
            "get": _op(
                "Cycles: each strongly connected component with one cycle through it",
                deps,
                {
                    "200": _json(
                        obj(
                            {
                                "count": INTEGER,
                                "circular_dependencies": array(
                                    obj({"services": STRINGS, "members": STRINGS})
                                ),
                            }
                        ),
                        analysed,
                    )
                },
            )
        },
        "/api/v1/dependencies/analysis/critical-path": {
            "get": _op(
                "The longest chain of hard dependencies",
                deps,
                {"200": _json(obj({"critical_path": STRINGS, "length": INTEGER}), analysed)},
            )
        },
        "/api/v1/dependencies/analysis/hubs": {
            "get": _op(
                "Services whose degree stands out, with betweenness",
                deps,
                {
                    "200": _json(
                        obj(
                            {
                                "hub_services": array(
                                    obj(
                                        {
                                            "service_id": STRING,
                                            "degree": INTEGER,
                                            "in_degree": INTEGER,
                                            "out_degree": INTEGER,
                                            "betweenness": NUMBER,
                                        }
                                    )
                                )
                            }
                        ),
                        analysed,
                    )
                },
            )
        },
        "/api/v1/dependencies/analysis/impact/{service_id}": {
            "get": _op(
                "What a failure of this service does to the others",
                deps,
                {"200": _json(ref("Impact"), "Impact"), **_errors(404)},
                parameters=[SERVICE],
            )
        },
        "/api/v1/dependencies/analysis/root-causes": {
            "get": _op(
                "For every non-healthy service, where its trouble starts",
                deps,
                {
                    "200": _json(
                        obj({"root_causes": {"type": "object", "additionalProperties": STRINGS}}),
                        "Root causes by service id",
                    )
                },
            )
        },
        "/api/v1/messagebus/publish": {
            "post": _op(
                "Publish an event (through the outbox); also takes a structured CloudEvent",
                bus,
                {
                    "200": _json(ref("Receipt"), "Confirmed by the broker"),
                    "202": _json(ref("Receipt"), "Queued: the broker is away, it goes out later"),
                    **_errors(400, 404, 413, 422, 503),
                },
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref("PublishBody")},
                        "application/cloudevents+json": {"schema": {"type": "object"}},
                    },
                },
            )
        },
        "/api/v1/messagebus/status": {
            "get": _op(
                "Bus connection, counters, outbox backlog",
                bus,
                {"200": _json(ref("BusStatus"), "Status")},
            )
        },
        "/api/v1/messagebus/exchanges": {
            "get": _op(
                "Exchanges, a page at a time",
                bus,
                {"200": _json(ref("Exchanges"), "A page"), **_errors(400)},
                parameters=PAGING,
            )
        },
        "/api/v1/messagebus/queues": {
            "get": _op(
                "Queues with their counts, a page at a time",
                bus,
                {"200": _json(ref("Queues"), "A page"), **_errors(400)},
                parameters=PAGING,
            )
        },
        "/health": {
            "get": _op(
                "Is the server up, and its database (open: no token needed)",
                "server",
                {
                    "200": _json(
                        obj(
                            {
                                "status": {"type": "string", "enum": ["ok", "degraded"]},
                                "service": STRING,
                                "version": STRING,
                                "database": {"type": "string", "enum": ["ok", "unavailable"]},
                                "services": INTEGER,
                            }
                        ),
                        "Health",
                    )
                },
                security=[],
            )
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics",
                "server",
                {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": STRING}},
                    }
                },
            )
        },
    }


# Stable names for client generators: camelCase, unique, never derived from the path.
OPERATION_IDS = {
    ("post", "/api/v1/heartbeat/register"): "registerService",
    ("delete", "/api/v1/heartbeat/register/{service_id}"): "deregisterService",
    ("post", "/api/v1/heartbeat/{service_id}/beat"): "recordBeat",
    ("get", "/api/v1/heartbeat/status"): "listServiceStatuses",
    ("get", "/api/v1/heartbeat/status/{service_id}"): "getServiceStatus",
    ("get", "/api/v1/heartbeat/status/{service_id}/history"): "getServiceHistory",
    ("get", "/api/v1/heartbeat/summary"): "getHeartbeatSummary",
    ("post", "/api/v1/dependencies"): "declareDependency",
    ("delete", "/api/v1/dependencies/{source}/{target}"): "removeDependency",
    ("get", "/api/v1/dependencies/graph"): "getDependencyGraph",
    ("get", "/api/v1/dependencies/service/{service_id}"): "getServiceDependencies",
    ("get", "/api/v1/dependencies/visualize/{format}"): "exportDependencyGraph",
    ("get", "/api/v1/dependencies/analysis/circular"): "findCircularDependencies",
    ("get", "/api/v1/dependencies/analysis/critical-path"): "getCriticalPath",
    ("get", "/api/v1/dependencies/analysis/hubs"): "findHubs",
    ("get", "/api/v1/dependencies/analysis/impact/{service_id}"): "getFailureImpact",
    ("get", "/api/v1/dependencies/analysis/root-causes"): "findRootCauses",
    ("post", "/api/v1/messagebus/publish"): "publishEvent",
    ("get", "/api/v1/messagebus/status"): "getBusStatus",
    ("get", "/api/v1/messagebus/exchanges"): "listExchanges",
    ("get", "/api/v1/messagebus/queues"): "listQueues",
    ("get", "/health"): "getHealth",
    ("get", "/metrics"): "getMetrics",
}


def _with_operation_ids(paths: dict[str, Schema]) -> dict[str, Schema]:
    for path, operations in paths.items():
        for method, operation in operations.items():
            operation["operationId"] = OPERATION_IDS[(method, path)]  # a new route needs one
    return paths


def _with_access_errors(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Every operation but the open ones may answer 401; every change may answer 403."""
    for operations in paths.values():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            operation["responses"].update(_errors(401))
            if method != "get":
                operation["responses"].update(_errors(403))
    return paths


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OSE Service Mesh",
            "version": __version__,
            "description": (
                "REST routes of OSE Service Mesh (the reference's paths). Everything here is "
                "also in GraphQL at /graphql. Errors are JSON: `{error, detail}`."
            ),
        },
        "paths": _with_operation_ids(_with_access_errors(_paths())),
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A read token for GET routes, a write token for the others "
                    "(needed only when the server has tokens configured; see SECURITY.md). "
                    "A service may push its beats with its own beat token.",
                }
            },
        },
        "security": [{"token": []}],
    }


_DOCUMENT = document()


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(_DOCUMENT)
