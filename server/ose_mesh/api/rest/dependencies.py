"""REST compatibility routes for dependency mapping (paths of the reference, plus impact and
root causes)."""

from __future__ import annotations

from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ose_mesh.api import exports
from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases, whole_number
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core import DIRECTION_ALIASES, Direction, Impact, ImpactEntry
from ose_mesh.core.graph_model import ReachedView
from ose_mesh.domain import InvalidField


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


def reached_json(reached: ReachedView) -> models.Reached:
    return {
        "service_id": reached.service_id,
        "distance": reached.distance,
        "via": exports.edge_json(reached.via),
    }


def impact_json(impact: Impact) -> models.Impact:
    def entries(items: list[ImpactEntry]) -> list[models.ImpactEntry]:
        return [{"service_id": e.service_id, "path": list(e.path)} for e in items]

    return {
        "service_id": impact.service_id,
        "failed": entries(impact.failed),
        "degraded": entries(impact.degraded),
        "unaffected": entries(impact.unaffected),
    }


async def add_dependency(request: Request) -> JSONResponse:
    body = await read_body(request, models.DependencyBody)
    edge, created = await use_cases(request).dependencies.add(body.to_domain())
    return JSONResponse(exports.edge_json(edge), status_code=201 if created else 200)


async def remove_dependency(request: Request) -> JSONResponse:
    source, target = request.path_params["source"], request.path_params["target"]
    removed = await use_cases(request).dependencies.remove(source, target)
    answer: models.Removed = {"removed": {"source": removed.source, "target": removed.target}}
    return JSONResponse(answer)


async def get_graph(request: Request) -> JSONResponse:
    view = await use_cases(request).dependencies.view()
    summary = view.summary
    answer: models.Graph = {
        "total_services": summary.total_services,
        "total_dependencies": summary.total_dependencies,
        "hub_services": summary.hub_services,
        "isolated_services": summary.isolated_services,
        "circular_dependencies": summary.circular_dependencies,
        "critical_path": summary.critical_path,
        "clusters": summary.clusters,
        "average_dependencies": summary.average_dependencies,
        "services": [exports.node_json(n) for n in view.nodes],
        "dependencies": [exports.edge_json(e) for e in view.edges],
        "observed_dependencies": [exports.observed_json(e) for e in view.observed],
    }
    return JSONResponse(answer)


async def get_service_dependencies(request: Request) -> JSONResponse:
    direction = parse_direction(request.query_params.get("direction"))
    depth = parse_depth(request.query_params.get("depth"))
    found = use_cases(request).dependencies.neighbourhood(
        request.path_params["service_id"], direction, depth
    )
    answer: models.ServiceDependencies = {
        "service_id": found.service_id,
        "direction": found.direction.value,
        "depth": "all" if found.depth is None else found.depth,
    }
    if found.dependencies is not None:
        answer["dependencies"] = [reached_json(r) for r in found.dependencies]
    if found.dependents is not None:
        answer["dependents"] = [reached_json(r) for r in found.dependents]
    return JSONResponse(answer)


async def visualize(request: Request) -> Response:
    view = await use_cases(request).dependencies.view()
    match request.path_params["format"]:
        case "cytoscape":
            return JSONResponse(exports.cytoscape(view))
        case "d3":
            return JSONResponse(exports.d3(view))
        case "mermaid":
            return PlainTextResponse(exports.mermaid(view))
    raise BadRequest("format: must be one of cytoscape, d3, mermaid")


async def circular(request: Request) -> JSONResponse:
    cycles = await use_cases(request).dependencies.cycles()
    answer: models.Cycles = {
        "count": len(cycles),
        "circular_dependencies": [
            {"services": list(c.services), "members": list(c.members)} for c in cycles
        ],
    }
    return JSONResponse(answer)


async def critical_path(request: Request) -> JSONResponse:
    path = await use_cases(request).dependencies.critical_path()
    answer: models.CriticalPath = {"critical_path": path, "length": len(path)}
    return JSONResponse(answer)


async def hubs(request: Request) -> JSONResponse:
    found = await use_cases(request).dependencies.hubs()
    answer: models.Hubs = {
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
    return JSONResponse(answer)


async def impact(request: Request) -> JSONResponse:
    result = use_cases(request).dependencies.impact(request.path_params["service_id"])
    return JSONResponse(impact_json(result))


async def root_causes(request: Request) -> JSONResponse:
    answer: models.RootCauses = {"root_causes": use_cases(request).dependencies.root_causes()}
    return JSONResponse(answer)


SERVICE = Param("service_id", "path", models.ServiceId, "The service's id")
TAG = "dependencies"
ANALYSED = "Analysis (cached until the graph changes)"
operations = (
    Operation(
        "POST",
        "/api/v1/dependencies",
        "declareDependency",
        "Declare a dependency (source depends on target); again: update it",
        TAG,
        (Answer(200, models.Edge, "Updated"), Answer(201, models.Edge, "Declared")),
        errors=(400, 413, 422, 503),
        body=models.DependencyBody,
        endpoint=add_dependency,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/graph",
        "getDependencyGraph",
        "The whole graph with its analysis",
        TAG,
        (Answer(200, models.Graph, "Graph"),),
        endpoint=get_graph,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/service/{service_id}",
        "getServiceDependencies",
        "What a service needs and what needs it",
        TAG,
        (Answer(200, models.ServiceDependencies, "Neighbourhood"),),
        errors=(404, 422),
        params=(
            SERVICE,
            Param(
                "direction",
                "query",
                Literal["dependencies", "dependents", "both", "upstream", "downstream"],
                "upstream = dependencies, downstream = dependents (as in Envoy)",
            ),
            Param("depth", "query", models.Depth, "How far (default 1), or all"),
        ),
        endpoint=get_service_dependencies,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/visualize/{format}",
        "exportDependencyGraph",
        "The graph for Cytoscape.js, D3 or Mermaid",
        TAG,
        (
            Answer(200, dict[str, Any], "JSON for cytoscape and d3, Mermaid flowchart text"),
            Answer(200, None, "Mermaid flowchart text", media="text/plain"),
        ),
        errors=(400,),
        params=(Param("format", "path", Literal["cytoscape", "d3", "mermaid"], "The format"),),
        endpoint=visualize,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/analysis/circular",
        "findCircularDependencies",
        "Cycles: each strongly connected component with one cycle through it",
        TAG,
        (Answer(200, models.Cycles, ANALYSED),),
        endpoint=circular,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/analysis/critical-path",
        "getCriticalPath",
        "The longest chain of hard dependencies",
        TAG,
        (Answer(200, models.CriticalPath, ANALYSED),),
        endpoint=critical_path,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/analysis/hubs",
        "findHubs",
        "Services whose degree stands out, with betweenness",
        TAG,
        (Answer(200, models.Hubs, ANALYSED),),
        endpoint=hubs,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/analysis/impact/{service_id}",
        "getFailureImpact",
        "What a failure of this service does to the others",
        TAG,
        (Answer(200, models.Impact, "Impact"),),
        errors=(404,),
        params=(SERVICE,),
        endpoint=impact,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/analysis/root-causes",
        "findRootCauses",
        "For every non-healthy service, where its trouble starts",
        TAG,
        (Answer(200, models.RootCauses, "Root causes by service id"),),
        endpoint=root_causes,
    ),
    Operation(
        "DELETE",
        "/api/v1/dependencies/{source}/{target}",
        "removeDependency",
        "Remove a dependency",
        TAG,
        (Answer(200, models.Removed, "Removed"),),
        errors=(404, 503),
        params=(
            Param("source", "path", models.ServiceId, "The dependent"),
            Param("target", "path", models.ServiceId, "The dependency"),
        ),
        endpoint=remove_dependency,
    ),
)
