"""The graph in the formats other tools read: Cytoscape.js, D3 and Mermaid.

Every node carries its live status. Edge `type` is `circular` for edges inside a cycle, with
the declared type kept in `declared_type`. Every edge says its `origin`: declared, observed
in traces, or both; edges only observed have `type` "observed" and no declared type, and
carry their traffic like the others.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, overload

from ose_mesh.api.rest import models
from ose_mesh.core.graph_model import (
    EdgeTraffic,
    EdgeView,
    GraphView,
    NodeView,
    ObservedEdgeView,
    TrafficWindow,
)
from ose_mesh.domain import HealthStatus


def edge_json(edge: EdgeView) -> models.Edge:
    dependency = edge.dependency
    return {
        "source": dependency.source,
        "target": dependency.target,
        "type": edge.type,
        "declared_type": dependency.type,
        "relationship": dependency.relationship,
        "description": dependency.description,
        "origin": "both" if edge.traffic is not None else "declared",
        "traffic": traffic_json(edge.traffic),
    }


def observed_json(edge: ObservedEdgeView) -> models.ObservedEdge:
    return {
        "source": edge.source,
        "target": edge.target,
        "origin": "observed",
        "relationship": edge.traffic.relationship,
        "traffic": traffic_json(edge.traffic),
    }


@overload
def traffic_json(traffic: EdgeTraffic) -> models.EdgeTraffic: ...
@overload
def traffic_json(traffic: None) -> None: ...
def traffic_json(traffic: EdgeTraffic | None) -> models.EdgeTraffic | None:
    if traffic is None:
        return None
    return {
        "relationship": traffic.relationship,
        "first_seen": traffic.first_seen.isoformat(),
        "last_seen": traffic.last_seen.isoformat(),
        "last_5m": _window_json(traffic.last_5m),
        "last_1h": _window_json(traffic.last_1h),
    }


def _window_json(window: TrafficWindow) -> models.TrafficWindow:
    return {
        "calls": window.calls,
        "rate": window.rate,
        "error_rate": window.error_rate,
        "p50_ms": window.p50_ms,
        "p95_ms": window.p95_ms,
        "failed_calls": window.failed_calls,
        "propagated": window.propagated,
    }


def _observed_export(edge: ObservedEdgeView) -> dict[str, Any]:
    """An observed-only edge in the shape of the declared ones."""
    return {
        **observed_json(edge),
        "type": OBSERVED,
        "declared_type": None,
        "description": None,
    }


def node_json(node: NodeView) -> models.Node:
    return {
        "id": node.service_id,
        "name": node.name,
        "status": node.status,
        "cluster": node.cluster,
        "monitored": node.monitored,
    }


def cytoscape(view: GraphView) -> dict[str, Any]:
    return {
        "elements": {
            "nodes": [{"data": {**node_json(n), "label": n.name}} for n in view.nodes],
            "edges": [
                {"data": {"id": f"{e.source}->{e.target}", **edge_json(e)}} for e in view.edges
            ]
            + [
                {"data": {"id": f"{e.source}->{e.target}", **_observed_export(e)}}
                for e in view.observed
            ],
        }
    }


def d3(view: GraphView) -> dict[str, Any]:
    return {
        "nodes": [{**node_json(n), "group": n.cluster or "ungrouped"} for n in view.nodes],
        "links": [
            *(edge_json(e) for e in view.edges),
            *(_observed_export(e) for e in view.observed),
        ],
    }


# -- Mermaid -------------------------------------------------------------------------------

OBSERVED = "observed"
_ARROWS = {"hard": "==>", "soft": "-->", "optional": "-.->", "circular": "==>"}
_OBSERVED_STYLE = "stroke:#0969da,stroke-dasharray:3 3"  # dotted blue, as in the explorer
_STATUS_STYLE = {
    HealthStatus.HEALTHY: "fill:#dafbe1,stroke:#1a7f37,color:#0b3d1a",
    HealthStatus.DEGRADED: "fill:#fff8c5,stroke:#9a6700,color:#3b2300",
    HealthStatus.CRITICAL: "fill:#ffebe9,stroke:#cf222e,color:#4c0a0f",
    HealthStatus.DEAD: "fill:#eaeef2,stroke:#57606a,color:#24292f",
    HealthStatus.UNKNOWN: "fill:#f6f8fa,stroke:#8c959f,color:#24292f",
}
# Mermaid entity codes: a label is quoted, so only what could end or confuse it is encoded.
_ESCAPES = {
    "&": "#amp;",
    '"': "#quot;",
    "#": "#35;",
    "<": "#lt;",
    ">": "#gt;",
    ";": "#59;",
    "|": "#124;",
    "`": "#96;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "(": "#40;",
    ")": "#41;",
}


# Before parsing, Mermaid drops the last ';' of any line matching `classDef…:…#…;` or
# `style…:…#…;` (meant for its own style lines), which breaks an entity in a label. Those
# words are spelled with an entity in labels, so no label line matches.
_STYLE_WORDS = {"classDef": "#99;lassDef", "style": "#115;tyle"}


def mermaid_label(text: str) -> str:
    flat = " ".join(text.split())
    label = "".join(_ESCAPES.get(char, char) for char in flat)
    for word, spelled in _STYLE_WORDS.items():
        label = label.replace(word, spelled)
    return label


def mermaid(view: GraphView) -> str:
    """A flowchart: node ids are generated (`s0`, `s1`…), so no name can break the syntax;
    hard edges are thick, soft plain, optional dotted, observed-only dotted blue; status is
    a classDef."""
    ids = {node.service_id: f"s{index}" for index, node in enumerate(view.nodes)}
    lines = ["flowchart LR"]
    by_status: dict[HealthStatus, list[str]] = defaultdict(list)
    for node in view.nodes:
        lines.append(f'    {ids[node.service_id]}["{mermaid_label(node.name)}"]')
        by_status[node.status].append(ids[node.service_id])
    for edge in view.edges:
        label = mermaid_label(f"{edge.type} {edge.dependency.relationship.value}")
        arrow = _ARROWS[edge.type]
        lines.append(f'    {ids[edge.source]} {arrow}|"{label}"| {ids[edge.target]}')
    for index, observed in enumerate(view.observed, start=len(view.edges)):
        label = mermaid_label(f"observed {observed.traffic.relationship.value}")
        lines.append(f'    {ids[observed.source]} -.->|"{label}"| {ids[observed.target]}')
        lines.append(f"    linkStyle {index} {_OBSERVED_STYLE}")
    for status, style in _STATUS_STYLE.items():
        lines.append(f"    classDef {status.value} {style}")
    for status, members in by_status.items():
        lines.append(f"    class {','.join(members)} {status.value}")
    return "\n".join(lines) + "\n"
