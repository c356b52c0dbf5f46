// The graph as Cytoscape elements, and the classes the explorer puts on them (filters,
// focus, impact and root-cause marks). Pure functions of a Cytoscape instance.
import { services } from "../lib/stores.js";

export const MARKS = "impact-failed impact-degraded impact-origin root-cause trail";

export function elementsOf(graph) {
  const live = services.value;
  return {
    nodes: graph.services.map((s) => ({
      data: { id: s.id, status: live.get(s.id)?.health.status ?? s.status, cluster: s.cluster ?? "",
        monitored: s.monitored },
    })),
    edges: graph.dependencies.map((d) => ({
      data: { id: `${d.source}->${d.target}`, source: d.source, target: d.target, type: d.type.toLowerCase(),
        relationship: d.relationship.toLowerCase(), description: d.description ?? "" },
    })),
  };
}

export function applyFilters(cy, graph, { cluster, relationship, types }) {
  const members = cluster ? new Set(graph.clusters.find((c) => c.name === cluster)?.services) : null;
  cy.batch(() => {
    cy.elements().removeClass("hidden");
    if (members) cy.nodes().filter((n) => !members.has(n.id())).addClass("hidden");
    cy.edges()
      .filter((e) => !types.has(e.data("type")) || (relationship && e.data("relationship") !== relationship))
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
