"""Our analyses (igraph inside) against networkx, the library everyone checks graphs with,
on random graphs larger than brute force can walk."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest

from ose_mesh.core.graph import DependencyGraph
from ose_mesh.domain import Dependency, DependencyType, HealthStatus, Relationship

HARD, SOFT, OPTIONAL = DependencyType.HARD, DependencyType.SOFT, DependencyType.OPTIONAL
UNHEALTHY = {HealthStatus.DEGRADED, HealthStatus.CRITICAL, HealthStatus.DEAD}


def random_pair(
    seed: int, services: int = 60, edges: int = 150
) -> tuple[DependencyGraph, nx.DiGraph[str]]:
    rng = random.Random(seed)
    ours = DependencyGraph()
    theirs: nx.DiGraph[str] = nx.DiGraph()
    for i in range(services):
        ours.add_service(f"s{i:02}", cluster=None, monitored=True)
        theirs.add_node(f"s{i:02}")
    while theirs.number_of_edges() < edges:
        a, b = rng.sample(range(services), 2)
        kind = rng.choice([HARD, SOFT, OPTIONAL])
        source, target = f"s{a:02}", f"s{b:02}"
        if theirs.has_edge(source, target):
            continue
        ours.add_dependency(Dependency(source, target, kind, Relationship.SYNC_API))
        theirs.add_edge(source, target, type=kind)
    return ours, theirs


@pytest.mark.parametrize("seed", range(20))
def test_cycles_and_circular_edges_are_the_strongly_connected_components(seed: int) -> None:
    ours, theirs = random_pair(seed)
    components = [c for c in nx.strongly_connected_components(theirs) if len(c) > 1]
    assert {frozenset(c.members) for c in ours.cycles()} == {frozenset(c) for c in components}
    for cycle in ours.cycles():
        ring = [*cycle.services, cycle.services[0]]
        assert all(theirs.has_edge(a, b) for a, b in itertools.pairwise(ring))
    inside = {(s, t) for c in components for s, t in theirs.subgraph(c).edges}
    assert ours.circular_edges() == inside


@pytest.mark.parametrize("seed", range(20))
def test_critical_path_is_a_longest_chain_of_hard_dependencies(seed: int) -> None:
    ours, theirs = random_pair(seed, edges=90)
    hard = theirs.edge_subgraph((s, t) for s, t, kind in theirs.edges(data="type") if kind is HARD)
    condensed = nx.condensation(hard)
    longest = len(nx.dag_longest_path(condensed))
    path = ours.critical_path()
    component_of = condensed.graph["mapping"]
    chain = list(dict.fromkeys(component_of[sid] for sid in path))
    assert len(chain) == longest
    # consecutive components of the chain are joined by a hard edge
    assert all(condensed.has_edge(a, b) for a, b in itertools.pairwise(chain))
    # every member of each component on the chain is listed
    assert sorted(path) == sorted(m for c in chain for m in condensed.nodes[c]["members"])


@pytest.mark.parametrize("seed", range(10))
def test_hub_betweenness_is_networkx_betweenness(seed: int) -> None:
    ours, theirs = random_pair(seed)
    exact = nx.betweenness_centrality(theirs)
    hubs = ours.hubs()
    assert hubs
    for hub in hubs:
        assert hub.betweenness == pytest.approx(exact[hub.service_id], abs=1e-6)
        assert hub.degree == theirs.degree(hub.service_id)


def test_betweenness_is_sampled_above_two_thousand_services_and_still_close() -> None:
    # 1,050 services call a gateway that calls 1,050 backends: every such path crosses it.
    graph = DependencyGraph()
    edges = [Dependency(f"client{i}", "gateway", HARD, Relationship.SYNC_API) for i in range(1050)]
    edges += [
        Dependency("gateway", f"backend{i}", HARD, Relationship.SYNC_API) for i in range(1050)
    ]
    graph.add_dependencies(edges)
    services = len(graph)
    exact = 1050 * 1050 / ((services - 1) * (services - 2))
    (gateway,) = graph.hubs()
    assert gateway.service_id == "gateway"
    assert gateway.betweenness == pytest.approx(exact, rel=0.5)


@pytest.mark.parametrize("seed", range(20))
def test_root_causes_are_the_troubled_sinks_below_each_service(seed: int) -> None:
    ours, theirs = random_pair(seed, edges=120)
    rng = random.Random(seed)
    statuses = {sid: rng.choice(list(HealthStatus)) for sid in theirs}
    unhealthy = [sid for sid in theirs if statuses[sid] in UNHEALTHY]
    troubled: nx.DiGraph[str] = nx.DiGraph()
    troubled.add_nodes_from(unhealthy)
    troubled.add_edges_from(
        (s, t)
        for s, t, kind in theirs.edges(data="type")
        if kind in (HARD, SOFT) and s in troubled and t in troubled
    )
    condensed = nx.condensation(troubled)
    component_of = condensed.graph["mapping"]
    expected = {}
    for sid in unhealthy:
        below = nx.descendants(condensed, component_of[sid])
        sinks = [c for c in below if condensed.out_degree(c) == 0]
        expected[sid] = sorted(m for c in sinks for m in condensed.nodes[c]["members"])
    assert ours.root_causes(statuses) == expected
    for sid in unhealthy[:5]:
        assert ours.root_causes_of(sid, statuses) == expected[sid]
