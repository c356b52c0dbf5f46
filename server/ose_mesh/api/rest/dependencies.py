"""REST compatibility routes for dependency mapping (paths of the reference, plus impact and
root causes)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ose_mesh.api import exports
from ose_mesh.api.context import MeshServices
from ose_mesh.api.rest.bodies import read_body, whole_number
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core import DIRECTION_ALIASES, Direction, Impact, ImpactEntry, Reached
from ose_mesh.domain import (
    Dependency,
    DependencyType,
    InvalidField,
    Relationship,
    parse_dependency_type,
    parse_relationship,
)
from ose_mesh.domain.service import SERVICE_ID_PATTERN


class DependencyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The enums are shown in the OpenAPI document; parsing stays ours, so a wrong value gets
    # a message listing the allowed ones.
    source: Annotated[str, Field(pattern=SERVICE_ID_PATTERN.pattern)]
    target: Annotated[str, Field(pattern=SERVICE_ID_PATTERN.pattern)]
    type: Annotated[str, Field(json_schema_extra={"enum": [t.value for t in DependencyType]})] = (
        DependencyType.HARD.value
    )
    relationship: Annotated[str, Field(json_schema_extra={"enum": [r.value for r in Relationship]})]
    description: str | None = Field(default=None, max_length=1000)

    def to_domain(self) -> Dependency:
        return Dependency(
            source=self.source,
            target=self.target,
            type=parse_dependency_type(self.type),
            relationship=parse_relationship(self.relationship),
            description=self.description,
        )


def _mesh(request: Request) -> MeshServices:
    mesh: MeshServices = request.app.state.mesh
    return mesh


def parse_direction(raw: str | None) -> Direction:
    if raw is None:
        return Direction.BOTH
    if raw in DIRECTION_ALIASES:
        return DIRECTION_ALIASES[raw]
    try:
        return Direction(raw)
    except ValueError:
        allowed = "dependencies, dependents, both (or upstream, downstream)"
        raise InvalidField("direction", f"must be one of {allowed}, got {raw!r}") from None


MAX_DEPTH = 10_000  # deeper than any graph is long: 'all' says it better


def parse_depth(raw: str | None) -> int | None:
    """A whole number from 1 to MAX_DEPTH, or `all` (None)."""
    if raw is None:
        return 1
    if raw == "all":
        return None
    depth = whole_number(raw)
    if depth is None or not 1 <= depth <= MAX_DEPTH:
        raise InvalidField(
            "depth", f"must be a whole number from 1 to {MAX_DEPTH} or 'all', got {raw!r}"
        )
    return depth


def reached_json(reached: Reached, mesh: MeshServices) -> dict[str, Any]:
    return {
        "service_id": reached.service_id,
        "distance": reached.distance,
        "via": exports.edge_json(mesh.dependencies.graph, reached.via),
    }


def impact_json(impact: Impact) -> dict[str, Any]:
    def entries(items: list[ImpactEntry]) -> list[dict[str, Any]]:
        return [{"service_id": e.service_id, "path": list(e.path)} for e in items]

    return {
        "service_id": impact.service_id,
        "failed": entries(impact.failed),
        "degraded": entries(impact.degraded),
        "unaffected": entries(impact.unaffected),
    }


def _nodes(mesh: MeshServices) -> list[exports.NodeView]:
    return exports.node_views(mesh.dependencies.graph, mesh.monitor.statuses(), mesh.names())


async def add_dependency(request: Request) -> JSONResponse:
    body = await read_body(request, DependencyBody)
    mesh = _mesh(request)
    dependency, created = await mesh.dependencies.add(body.to_domain())
    edge = exports.edge_json(mesh.dependencies.graph, dependency)
    return JSONResponse(edge, status_code=201 if created else 200)


async def remove_dependency(request: Request) -> JSONResponse:
    mesh = _mesh(request)
    source, target = request.path_params["source"], request.path_params["target"]
    removed = await mesh.dependencies.remove(source, target)
    return JSONResponse({"removed": {"source": removed.source, "target": removed.target}})


async def get_graph(request: Request) -> JSONResponse:
    mesh = _mesh(request)
    graph = await mesh.dependencies.analysed()
    summary = graph.summary()
    nodes = _nodes(mesh)
    return JSONResponse(
        {
            "total_services": summary.total_services,
            "total_dependencies": summary.total_dependencies,
            "hub_services": summary.hub_services,
            "isolated_services": summary.isolated_services,
            "circular_dependencies": summary.circular_dependencies,
            "critical_path": summary.critical_path,
            "clusters": summary.clusters,
            "average_dependencies": summary.average_dependencies,
            "services": [exports.node_json(n) for n in nodes],
            "dependencies": [exports.edge_json(graph, d) for d in graph.dependencies()],
        }
    )


async def get_service_dependencies(request: Request) -> JSONResponse:
    mesh = _mesh(request)
    service_id = request.path_params["service_id"]
    direction = parse_direction(request.query_params.get("direction"))
    depth = parse_depth(request.query_params.get("depth"))
    graph = mesh.dependencies.graph
    graph.require(service_id)
    answer: dict[str, Any] = {
        "service_id": service_id,
        "direction": direction.value,
        "depth": "all" if depth is None else depth,
    }
    for side in (Direction.DEPENDENCIES, Direction.DEPENDENTS):
        if direction in (side, Direction.BOTH):
            found = graph.neighbourhood(service_id, side, depth)
            answer[side.value] = [reached_json(r, mesh) for r in found]
    return JSONResponse(answer)


async def visualize(request: Request) -> Response:
    mesh = _mesh(request)
    graph, nodes = await mesh.dependencies.analysed(), _nodes(mesh)
    match request.path_params["format"]:
        case "cytoscape":
            return JSONResponse(exports.cytoscape(graph, nodes))
        case "d3":
            return JSONResponse(exports.d3(graph, nodes))
        case "mermaid":
            return PlainTextResponse(exports.mermaid(graph, nodes))
    raise BadRequest("format: must be one of cytoscape, d3, mermaid")


async def circular(request: Request) -> JSONResponse:
    cycles = (await _mesh(request).dependencies.analysed()).cycles()
    return JSONResponse(
        {
            "count": len(cycles),
            "circular_dependencies": [
                {"services": list(c.services), "members": list(c.members)} for c in cycles
            ],
        }
    )


async def critical_path(request: Request) -> JSONResponse:
    path = (await _mesh(request).dependencies.analysed()).critical_path()
    return JSONResponse({"critical_path": path, "length": len(path)})


async def hubs(request: Request) -> JSONResponse:
    found = (await _mesh(request).dependencies.analysed()).hubs()
    return JSONResponse(
        {
            "hub_services": [
                {
                    "service_id": h.service_id,
                    "degree": h.degree,
                    "in_degree": h.in_degree,
                    "out_degree": h.out_degree,
                    "betweenness": h.betweenness,
                }
                for h in found
            ]
        }
    )


async def impact(request: Request) -> JSONResponse:
    result = _mesh(request).dependencies.graph.impact(request.path_params["service_id"])
    return JSONResponse(impact_json(result))


async def root_causes(request: Request) -> JSONResponse:
    return JSONResponse({"root_causes": _mesh(request).dependencies.root_causes()})


routes = [
    Route("/api/v1/dependencies", add_dependency, methods=["POST"]),
    Route("/api/v1/dependencies/graph", get_graph, methods=["GET"]),
    Route("/api/v1/dependencies/service/{service_id}", get_service_dependencies, methods=["GET"]),
    Route("/api/v1/dependencies/visualize/{format}", visualize, methods=["GET"]),
    Route("/api/v1/dependencies/analysis/circular", circular, methods=["GET"]),
    Route("/api/v1/dependencies/analysis/critical-path", critical_path, methods=["GET"]),
    Route("/api/v1/dependencies/analysis/hubs", hubs, methods=["GET"]),
    Route("/api/v1/dependencies/analysis/impact/{service_id}", impact, methods=["GET"]),
    Route("/api/v1/dependencies/analysis/root-causes", root_causes, methods=["GET"]),
    Route("/api/v1/dependencies/{source}/{target}", remove_dependency, methods=["DELETE"]),
]
