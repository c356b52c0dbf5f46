"""Dependency graph analyses: hand-checked examples and brute force on small random graphs."""

from __future__ import annotations

import itertools
import random

import pytest

from ose_mesh.core.graph import DependencyGraph
from ose_mesh.core.graph_model import Direction
from ose_mesh.demo.simulator import load_topology
from ose_mesh.domain import (
    Dependency,
    DependencyType,
    HealthStatus,
    Relationship,
    ServiceNotFound,
)

HARD, SOFT, OPTIONAL = DependencyType.HARD, DependencyType.SOFT, DependencyType.OPTIONAL


def graph_of(
    *edges: tuple[str, str, DependencyType], nodes: tuple[str, ...] = ()
) -> DependencyGraph:
    graph = DependencyGraph()
    for node in nodes:
        graph.add_service(node, cluster=None, monitored=True)
    for source, target, kind in edges:
        graph.add_dependency(Dependency(source, target, kind, Relationship.SYNC_API))
    return graph


def reference() -> DependencyGraph:
    topology = load_topology()
    graph = DependencyGraph()
    for service in topology["services"]:
        graph.add_service(service["id"], cluster=service["cluster"], monitored=True)
    for d in topology["dependencies"]:
        graph.add_dependency(
            Dependency(
                d["source"], d["target"], DependencyType(d["type"]), Relationship(d["relationship"])
            )
        )
    return graph


def test_the_reference_topology_gives_the_reference_analysis() -> None:
    summary = reference().summary()
    assert summary.total_services == 12
    assert summary.total_dependencies == 32
    assert summary.average_dependencies == 2.67
    assert set(summary.hub_services) == {"service-mesh", "discovery"}
    assert summary.isolated_services == []
    assert summary.circular_dependencies == []
    assert summary.critical_path == ["service-mesh", "discovery", "postgres"]
    assert summary.clusters == {
        "core": ["discovery", "optimization", "service-mesh"],
        "utility": ["factory-reset", "reinstallation"],
        "infrastructure": ["postgres", "rabbitmq", "redis"],
        "monitoring": ["grafana", "metrics-collector", "prometheus"],
        "configuration": ["terminal-config"],
    }


def test_cycles_have_a_witness_in_edge_order_and_mark_their_edges() -> None:
    graph = graph_of(("a", "b", HARD), ("b", "c", SOFT), ("c", "a", HARD), ("c", "d", HARD))
    [cycle] = graph.cycles()
    assert cycle.members == ("a", "b", "c")
    assert cycle.services == ("a", "b", "c")
    assert graph.circular_edges() == {("a", "b"), ("b", "c"), ("c", "a")}
    assert graph.edge_type(graph.dependency("c", "d")) == "hard"
    assert graph.edge_type(graph.dependency("b", "c")) == "circular"


def test_isolated_services_and_unmonitored_nodes() -> None:
    graph = graph_of(("a", "b", HARD), nodes=("lonely", "a"))
    assert graph.isolated() == ["lonely"]
    assert {n.service_id: n.monitored for n in graph.nodes()} == {
        "a": True,
        "b": False,
        "lonely": True,
    }
    graph.remove_dependency("a", "b")
    assert "b" not in graph  # an unmonitored node goes with its last edge
    assert "a" in graph


def test_a_deregistered_service_stays_while_edges_name_it() -> None:
    graph = graph_of(("a", "b", HARD), nodes=("a", "b", "c"))
    graph.remove_service("b")
    graph.remove_service("c")
    assert "b" in graph
    assert "c" not in graph
    assert not next(n for n in graph.nodes() if n.service_id == "b").monitored


def test_neighbourhood_directions_depth_and_the_edge_that_reached() -> None:
    graph = graph_of(("a", "b", HARD), ("b", "c", SOFT), ("x", "a", OPTIONAL))
    deps = graph.neighbourhood("a", Direction.DEPENDENCIES, None)
    assert [(r.service_id, r.distance, r.via.key) for r in deps] == [
        ("b", 1, ("a", "b")),
        ("c", 2, ("b", "c")),
    ]
    assert [r.service_id for r in graph.neighbourhood("a", Direction.DEPENDENCIES, 1)] == ["b"]
    assert [r.service_id for r in graph.neighbourhood("c", Direction.DEPENDENTS, None)] == [
        "b",
        "a",
        "x",
    ]
    with pytest.raises(ServiceNotFound):
        graph.neighbourhood("nope", Direction.BOTH, 1)


def test_impact_rules() -> None:
    graph = graph_of(
        ("api", "db", HARD),
        ("web", "api", HARD),
        ("report", "db", SOFT),
        ("mail", "report", HARD),  # degraded through a hard edge: stays degraded
        ("audit", "db", OPTIONAL),
        ("ui", "web", SOFT),
        nodes=("other",),
    )
    impact = graph.impact("db")
    assert {e.service_id: e.path for e in impact.failed} == {
        "api": ("db", "api"),
        "web": ("db", "api", "web"),
    }
    assert {e.service_id: e.path for e in impact.degraded} == {
        "report": ("db", "report"),
        "mail": ("db", "report", "mail"),
        "ui": ("db", "api", "web", "ui"),
    }
    assert [e.service_id for e in impact.unaffected] == ["audit", "other"]


def test_root_causes_follow_non_healthy_dependencies() -> None:
    graph = graph_of(
        ("web", "api", HARD), ("api", "db", HARD), ("api", "cache", SOFT),
        ("batch", "db", OPTIONAL), ("ok", "db", HARD),
    )  # fmt: skip
    statuses = {
        "web": HealthStatus.CRITICAL, "api": HealthStatus.DEGRADED, "db": HealthStatus.DEAD,
        "cache": HealthStatus.DEGRADED, "batch": HealthStatus.DEGRADED, "ok": HealthStatus.HEALTHY,
    }  # fmt: skip
    causes = graph.root_causes(statuses)
    assert causes == {
        "web": ["cache", "db"],
        "api": ["cache", "db"],
        "db": [],
        "cache": [],
        "batch": [],  # an optional edge carries no trouble
    }
    for service_id, expected in causes.items():
        assert graph.root_causes_of(service_id, statuses) == expected
    assert graph.root_causes_of("ok", statuses) == []


def test_a_healthy_service_in_between_stops_the_trail() -> None:
    graph = graph_of(("a", "b", HARD), ("b", "c", HARD))
    statuses = {"a": HealthStatus.DEGRADED, "b": HealthStatus.HEALTHY, "c": HealthStatus.DEAD}
    assert graph.root_causes(statuses)["a"] == []


def test_analyses_are_cached_until_the_graph_changes() -> None:
    graph = graph_of(("a", "b", HARD))
    first = graph.summary().critical_path
    assert graph.critical_path() is graph.critical_path()
    graph.add_dependency(Dependency("b", "c", HARD))
    assert graph.critical_path() == ["a", "b", "c"] != first


def test_critical_path_ties_go_to_the_services_with_most_dependents() -> None:
    graph = graph_of(
        ("a", "b", HARD), ("x", "y", HARD), ("p", "y", SOFT), ("q", "y", SOFT), ("a", "z", SOFT)
    )
    assert graph.critical_path() == ["x", "y"]


def test_hubs_stand_out_by_degree() -> None:
    edges = [(f"s{i}", "core", HARD) for i in range(6)] + [("s0", "s1", SOFT)]
    hubs = graph_of(*edges).hubs()
    assert [h.service_id for h in hubs] == ["core"]
    assert hubs[0].in_degree == 6
    assert hubs[0].betweenness == 0.0


def test_clusters_detect_communities_for_undeclared_services() -> None:
    graph = graph_of(("a", "b", HARD), ("b", "c", HARD), ("x", "y", HARD), nodes=("solo",))
    graph.add_service("db", cluster="infrastructure", monitored=True)
    clusters = graph.clusters()
    assert clusters["infrastructure"] == ["db"]
    assert sorted(clusters.values()) == [["a", "b", "c"], ["db"], ["solo"], ["x", "y"]]
    assert clusters["ungrouped"] == ["solo"]


# -- brute force on small random graphs ----------------------------------------------------


def random_graph(
    rng: random.Random,
) -> tuple[DependencyGraph, list[tuple[str, str, DependencyType]]]:
    nodes = [f"n{i}" for i in range(rng.randint(2, 7))]
    edges = [
        (s, t, rng.choice([HARD, SOFT, OPTIONAL]))
        for s, t in itertools.permutations(nodes, 2)
        if rng.random() < 0.3
    ]
    return graph_of(*edges, nodes=tuple(nodes)), edges


def brute_impact(
    edges: list[tuple[str, str, DependencyType]], failed: str
) -> tuple[set[str], set[str]]:
    down, weak = {failed}, set()
    changed = True
    while changed:
        changed = False
        for s, t, kind in edges:
            if kind is HARD and t in down and s not in down:
                down.add(s)
                changed = True
        for s, t, kind in edges:
            if kind in (HARD, SOFT) and (t in down or t in weak) and s not in down | weak:
                weak.add(s)
                changed = True
    return down - {failed}, weak - down


def on_some_cycle(edges: list[tuple[str, str, DependencyType]], s: str, t: str) -> bool:
    """Brute force: t reaches s."""
    reach, frontier = {t}, [t]
    while frontier:
        current = frontier.pop()
        for a, b, _ in edges:
            if a == current and b not in reach:
                reach.add(b)
                frontier.append(b)
    return s in reach


@pytest.mark.parametrize("seed", range(40))
def test_against_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    graph, edges = random_graph(rng)
    assert graph.circular_edges() == {(s, t) for s, t, _ in edges if on_some_cycle(edges, s, t)}
    for cycle in graph.cycles():
        ring = [*list(cycle.services), cycle.services[0]]
        assert all(any((a, b) == (s, t) for s, t, _ in edges) for a, b in itertools.pairwise(ring))
    for node in list(graph.nodes())[:3]:
        impact = graph.impact(node.service_id)
        down, weak = brute_impact(edges, node.service_id)
        assert {e.service_id for e in impact.failed} == down
        assert {e.service_id for e in impact.degraded} == weak
