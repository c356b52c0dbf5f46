"""Whole-graph algorithms, run by igraph (C) on a numbered copy of the graph.

Services are numbered 0..n-1 and edges are pairs of numbers. networkx does the same work in
Python and needs seconds at 10,000 services and 50,000 edges; igraph needs milliseconds
(BENCHMARKS.md). Everything here is linear, except betweenness, which is exact up to
EXACT_BETWEENNESS_LIMIT services and sampled from a fixed number of sources above.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import igraph

EXACT_BETWEENNESS_LIMIT = 2000
BETWEENNESS_SAMPLES = 20
Pair = tuple[int, int]

# igraph draws its random numbers from one process-wide generator; seeding it under a lock
# keeps community detection repeatable even while another thread analyses another graph.
_random_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Condensed:
    """The strongly connected components of a graph and the DAG between them."""

    component_of: list[int]  # vertex -> its component
    members: list[list[int]]  # component -> its vertices, ascending
    successors: list[list[int]]  # component -> the components it has edges to
    order: list[int]  # components, each before every component it has edges to


class Numbered:
    """A directed graph on vertices 0..n-1, built once and analysed many ways."""

    def __init__(self, vertex_count: int, pairs: Sequence[Pair]) -> None:
        self.vertex_count = vertex_count
        self._graph = igraph.Graph(n=vertex_count, edges=pairs, directed=True)

    def degrees(self) -> list[int]:
        return list(self._graph.degree())

    def in_degrees(self) -> list[int]:
        return list(self._graph.indegree())

    def condense(self, edge_ids: Sequence[int] | None = None) -> Condensed:
        """Strongly connected components, of the whole graph or of the given edges only."""
        graph = self._graph
        if edge_ids is not None:
            graph = graph.subgraph_edges(edge_ids, delete_vertices=False)
        component_of: list[int] = graph.connected_components(mode="strong").membership
        dag = graph.copy()
        dag.contract_vertices(component_of)
        dag.simplify()  # drop the loops and parallel edges the contraction left
        members: list[list[int]] = [[] for _ in range(dag.vcount())]
        for vertex, component in enumerate(component_of):
            members[component].append(vertex)
        return Condensed(
            component_of=component_of,
            members=members,
            successors=dag.get_adjlist(mode="out"),
            order=dag.topological_sorting(mode="out"),
        )

    def betweenness(self, vertices: list[int]) -> list[float]:
        """Normalised directed betweenness of `vertices` (as networkx normalises it): exact
        on small graphs, estimated from a seeded sample of sources on large ones."""
        n = self.vertex_count
        if n < 3 or not vertices:
            return [0.0] * len(vertices)
        scale = 1 / ((n - 1) * (n - 2))
        if n <= EXACT_BETWEENNESS_LIMIT:
            raw = self._graph.betweenness(vertices=vertices, directed=True)
        else:
            sources = random.Random(1).sample(range(n), BETWEENNESS_SAMPLES)
            raw = self._graph.betweenness(vertices=vertices, directed=True, sources=sources)
            scale *= n / BETWEENNESS_SAMPLES
        return [value * scale for value in raw]

    def communities(self, vertices: list[int]) -> list[list[int]]:
        """Groups of densely connected vertices among `vertices` (ascending), by label
        propagation on the undirected graph between them, seeded so the same graph always
        gives the same groups."""
        whole = len(vertices) == self.vertex_count
        graph = self._graph if whole else self._graph.induced_subgraph(vertices)
        with _random_lock:
            igraph.set_random_number_generator(random.Random(1))
            membership = graph.as_undirected().community_label_propagation().membership
        groups: dict[int, list[int]] = {}
        for position, group in enumerate(membership):
            groups.setdefault(group, []).append(vertices[position])
        return list(groups.values())


def longest_chain(condensed: Condensed, weights: Sequence[int]) -> list[int]:
    """The longest chain of components (by count), ties to the heaviest (sum of `weights`
    over its components), as a list of components."""
    best: list[tuple[int, int]] = [(0, 0)] * len(condensed.members)
    following: list[int | None] = [None] * len(condensed.members)
    for component in reversed(condensed.order):
        below = max(condensed.successors[component], key=best.__getitem__, default=None)
        length, weight = best[below] if below is not None else (0, 0)
        best[component] = (length + 1, weight + weights[component])
        following[component] = below
    if not best:
        return []
    current: int | None = max(range(len(best)), key=best.__getitem__)
    chain = []
    while current is not None:
        chain.append(current)
        current = following[current]
    return chain
