// The graph as Cytoscape elements, and the classes the explorer puts on them (filters,
// focus, impact and root-cause marks). Pure functions of a Cytoscape instance.
import { services } from "../lib/stores.js";

export const MARKS =
  "impact-failed impact-degraded impact-origin root-cause trail drift-undeclared drift-unseen drift-suspect";
export const OBSERVED = "observed"; // the type and origin of edges seen in traces only

export function elementsOf(graph) {
  const live = services.value;
  return {
    nodes: graph.services.map((s) => ({
      data: { id: s.id, status: live.get(s.id)?.health.status ?? s.status, cluster: s.cluster ?? "",
        monitored: s.monitored },
    })),
    edges: [
      ...graph.dependencies.map((d) => ({
        data: { id: edgeId(d), source: d.source, target: d.target, type: d.type.toLowerCase(),
          relationship: d.relationship.toLowerCase(), description: d.description ?? "",
          origin: (d.origin ?? "DECLARED").toLowerCase(), ...trafficData(d.traffic) },
      })),
      ...(graph.observedDependencies ?? []).map((d) => ({
        data: { id: edgeId(d), source: d.source, target: d.target, type: OBSERVED,
          relationship: d.relationship.toLowerCase(), description: "", origin: OBSERVED,
          ...trafficData(d.traffic) },
      })),
    ],
  };
}

export const edgeId = (d) => `${d.source}->${d.target}`;

/** What an edge's data says of its traffic: the last 5 minutes, or the last hour when the
 * last 5 minutes had no call; -1 when traces never showed it. */
export function trafficData(traffic) {
  if (!traffic) return { rate: -1, errorRate: -1, calls: 0, window: "", p50: null, p95: null, lastSeen: "" };
  const recent = traffic.last5m.calls > 0;
  const w = recent ? traffic.last5m : traffic.last1h;
  return { rate: w.rate, errorRate: w.errorRate, calls: w.calls, window: recent ? "5 min" : "1 h",
    p50: w.p50Ms, p95: w.p95Ms, lastSeen: traffic.lastSeen };
}

/** Every edge's traffic, by edge id (refreshed without drawing the graph again). */
export function trafficOf(graph) {
  const all = [...graph.dependencies, ...(graph.observedDependencies ?? [])];
  return new Map(all.map((d) => [edgeId(d), trafficData(d.traffic)]));
}

export function applyTraffic(cy, traffic, byErrors) {
  cy.batch(() => {
    for (const edge of cy.edges()) {
      const data = traffic.get(edge.id());
      if (data && (data.rate !== edge.data("rate") || data.errorRate !== edge.data("errorRate"))) edge.data(data);
      const seen = edge.data("errorRate") >= 0;
      edge.toggleClass("by-errors", byErrors && seen);
      edge.toggleClass("no-traffic", byErrors && !seen);
    }
  });
}

const ORIGINS = {
  declared: new Set(["declared", "both"]),
  observed: new Set(["observed", "both"]),
  drift: new Set(["observed"]),
};

export function applyFilters(cy, graph, { cluster, relationship, types, origin }) {
  const members = cluster ? new Set(graph.clusters.find((c) => c.name === cluster)?.services) : null;
  const origins = ORIGINS[origin];
  cy.batch(() => {
    cy.elements().removeClass("hidden");
    if (members) cy.nodes().filter((n) => !members.has(n.id())).addClass("hidden");
    cy.edges()
      .filter((e) =>
        (e.data("type") !== OBSERVED && !types.has(e.data("type")))
        || (relationship && e.data("relationship") !== relationship)
        || (origins && !origins.has(e.data("origin"))))
      .addClass("hidden");
  });
}
/** Dim everything but `id` and what `reached` names; returns what stays lit. */
export function focusOn(cy, id, reachedIds) {
  const ids = new Set([id, ...reachedIds]);
  const keep = cy.nodes().filter((n) => ids.has(n.id()));
  cy.elements().addClass("dimmed");
  keep.union(keep.edgesWith(keep)).removeClass("dimmed");
  cy.getElementById(id).select();
  cy.animate({ fit: { eles: keep, padding: 40 }, duration: 300 });
}

export function markImpact(cy, id, impact) {
  cy.elements().removeClass(MARKS).addClass("dimmed");
  const mark = (entries, cls) => {
    for (const entry of entries) {
      cy.getElementById(entry.serviceId).removeClass("dimmed").addClass(cls);
      trail(cy, entry.path);
    }
  };
  cy.getElementById(id).removeClass("dimmed").addClass("impact-origin impact-failed");
  mark(impact.failed, "impact-failed");
  mark(impact.degraded, "impact-degraded");
}

/** Light the edges where the declarations and the traces disagree, by kind of drift. */
export function markDrift(cy, drift) {
  cy.elements().removeClass(MARKS).addClass("dimmed");
  const mark = (edges, cls) => {
    for (const { source, target } of edges) {
      const edge = cy.getElementById(`${source}->${target}`);
      edge.removeClass("dimmed").addClass(cls);
      edge.connectedNodes().removeClass("dimmed");
    }
  };
  mark(drift.undeclared.map((d) => d.edge), "drift-undeclared");
  mark(drift.unseen.map((d) => d.dependency), "drift-unseen");
  mark(drift.suspect.map((d) => d.dependency), "drift-suspect");
}

/** Light the troubled services and mark where their trouble starts; returns those. */
export function markRootCauses(cy, all) {
  cy.elements().removeClass(MARKS).addClass("dimmed");
  const causes = new Set();
  for (const service of all.values()) {
    if (!service.health.rootCauses.length) continue;
    cy.getElementById(service.id).removeClass("dimmed");
    service.health.rootCauses.forEach((cause) => causes.add(cause));
  }
  for (const cause of causes) cy.getElementById(cause).removeClass("dimmed").addClass("root-cause");
  return causes;
}

function trail(cy, path) {
  for (let i = 1; i < path.length; i++) {
    // the path runs from the failed service to its dependents: edges point the other way
    cy.getElementById(`${path[i]}->${path[i - 1]}`).removeClass("dimmed").addClass("trail");
  }
}
