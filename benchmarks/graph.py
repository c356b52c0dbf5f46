"""Dependency graph at 10,000 services and 50,000 edges, against bare networkx calls.

The bare side does the same work with networkx alone (no validation, no caching, no result
types). ose-mesh does it with its own adjacency maps and igraph; the ratio says how far from
plain networkx that puts us.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import networkx as nx

from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from ose_mesh.core import DependencyGraph, Direction
from ose_mesh.domain import Dependency, DependencyType, Relationship

SERVICES = 10_000
EDGES = 50_000
ROUNDS = 3


@dataclass
class GraphFigure:
    name: str
    ours_ms: float
    bare_ms: float

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.bare_ms if self.bare_ms else float("nan")


def random_edges(seed: int = 1) -> list[Dependency]:
    rng = random.Random(seed)
    kinds, relationships = list(DependencyType), list(Relationship)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < EDGES:
        a, b = rng.randrange(SERVICES), rng.randrange(SERVICES)
        if a != b:
            pairs.add((a, b))
    return [
        Dependency(f"s{a}", f"s{b}", rng.choice(kinds), rng.choice(relationships))
        for a, b in sorted(pairs)
    ]


def median_ms(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()  # each round pays for its own garbage, not for the previous round's
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def build_ours(edges: list[Dependency]) -> DependencyGraph:
    graph = DependencyGraph()
    for i in range(SERVICES):
        graph.add_service(f"s{i}", cluster=None, monitored=True)
    graph.add_dependencies(edges)
    return graph


def ours_everything(edges: list[Dependency]) -> None:
    graph = build_ours(edges)
    graph.summary()
    graph.hubs()
    graph.circular_edges()


def both_ways(graph: DependencyGraph, service_id: str) -> None:
    for direction in (Direction.DEPENDENCIES, Direction.DEPENDENTS):
        graph.neighbourhood(service_id, direction, 1)


def build_bare(edges: list[Dependency]) -> nx.DiGraph[str]:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(f"s{i}" for i in range(SERVICES))
    graph.add_edges_from((e.source, e.target, {"type": e.type}) for e in edges)
    return graph


def bare_everything(edges: list[Dependency]) -> None:
    graph = build_bare(edges)
    list(nx.strongly_connected_components(graph))
    hard = graph.edge_subgraph(
        (s, t) for s, t, d in graph.edges(data=True) if d["type"] is DependencyType.HARD
    )
    nx.dag_longest_path(nx.condensation(hard))
    dict(graph.degree())
    list(nx.isolates(graph))
    nx.betweenness_centrality(graph, k=max(8, 200_000 // (EDGES + 1)), seed=1)
    list(nx.community.asyn_lpa_communities(graph.to_undirected(as_view=True), seed=1))


def measure_endpoint(graph: DependencyGraph) -> tuple[float, float]:
    """GET /api/v1/dependencies/graph: the first answer right after the graph appeared
    (analyses computed then) and the median of the next ones (analyses cached; the server
    also recomputes them in the background after every change)."""

    async def run() -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder}/bench.db")
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                app.state.mesh.dependencies.graph = graph
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                    times = []
                    for _ in range(ROUNDS + 1):
                        started = time.perf_counter()
                        response = await c.get("/api/v1/dependencies/graph")
                        response.raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                    return times[0], statistics.median(times[1:])

    return asyncio.run(run())


def run() -> tuple[list[GraphFigure], tuple[float, float]]:
    edges = random_edges()
    figures = [
        GraphFigure(
            "build + every analysis",
            median_ms(lambda: ours_everything(edges)),
            median_ms(lambda: bare_everything(edges)),
        )
    ]
    ours, bare = build_ours(edges), build_bare(edges)
    reverse = bare.reverse(copy=False)
    targets = [f"s{i}" for i in random.Random(2).sample(range(SERVICES), 20)]
    figures.append(
        GraphFigure(
            "impact of one failure (median of 20 services)",
            statistics.median(median_ms(lambda t=t: ours.impact(t), 1) for t in targets),
            statistics.median(
                median_ms(lambda t=t: nx.descendants(reverse, t), 1) for t in targets
            ),
        )
    )
    figures.append(
        GraphFigure(
            "a service's dependencies, both ways, depth 1",
            statistics.median(median_ms(lambda t=t: both_ways(ours, t), 1) for t in targets),
            statistics.median(
                median_ms(lambda t=t: (list(bare.successors(t)), list(bare.predecessors(t))), 1)
                for t in targets
            ),
        )
    )
    return figures, measure_endpoint(ours)
