// The dependency explorer: the graph drawn by Cytoscape (or in 3D), with filters, focus on a
// neighbourhood, the impact of a failure, root causes, and a details panel per service.
import { useEffect, useRef, useState } from "preact/hooks";
import { request } from "../lib/client.js";
import { NoServicesYet } from "../lib/components.jsx";
import { DRIFT, IMPACT, NEIGHBOURHOOD } from "../lib/documents.js";
import { services, startServices } from "../lib/stores.js";
import {
  MARKS,
  applyFilters,
  applyTraffic,
  focusOn,
  markDrift,
  markImpact,
  markRootCauses,
} from "../graph/elements.js";
import { statusColours } from "../graph/graphStyle.js";
import { Legend } from "../graph/Legend.jsx";
import { Details, Tooltip } from "../graph/panels.jsx";
import { FilterBar, NO_FILTERS, ViewBar } from "../graph/Toolbar.jsx";
import { forgetLayout, saveLayout } from "../graph/savedLayout.js";
import {
  runForceLayout,
  useCytoscape,
  useDependencyGraph,
  useGraph3D,
  usePhysics,
} from "../graph/useCytoscape.js";

export function Dependencies() {
  startServices();
  const box = useRef(null);
  const box3d = useRef(null);
  const { graph, traffic, error, setError } = useDependencyGraph();
  const [selected, setSelected] = useState(null);
  const [tooltip, setTooltip] = useState(null);
  const [view, setView] = useState({ physics: false, three: false, errors: false });
  const [filters, setFilters] = useState(NO_FILTERS);
  const [focus, setFocus] = useState(new URLSearchParams(location.search).get("focus") ?? "");
  const [depth, setDepth] = useState("1");
  const [highlight, setHighlight] = useState("");
  const [shown, setShown] = useState({ nodes: 0, edges: 0 });
  const preview = useRef(null);
  const [cyRef, built] = useCytoscape(box, preview, graph, { select: setSelected, hover: setTooltip });
  usePhysics(cyRef, view.physics, built);
  const view3d = useGraph3D(box3d, graph, view.three, view.physics, setSelected);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy || !graph) return;
    applyFilters(cy, graph, filters);
    // Counted from the classes just set (":visible" may still read the style before them).
    const nodes = cy.nodes().not(".hidden");
    const edges = cy.edges().not(".hidden").filter((e) => !e.source().hasClass("hidden") && !e.target().hasClass("hidden"));
    setShown({ nodes: nodes.length, edges: edges.length });
  }, [built, filters]);

  // Traffic on the edges (and their colours by error rate), without drawing them again.
  useEffect(() => {
    if (cyRef.current) applyTraffic(cyRef.current, traffic, view.errors);
  }, [built, traffic, view.errors]);

  const actions = {
    reset() {
      const cy = cyRef.current;
      if (!cy) return;
      cy.elements().removeClass(`dimmed ${MARKS}`);
      setHighlight("");
      setFocus("");
      setFilters(NO_FILTERS);
      cy.elements().unselect();
      cy.fit(undefined, 30);
      view3d.current?.reset();
    },

    relayout() {
      const cy = cyRef.current;
      if (!cy) return;
      forgetLayout();
      runForceLayout(cy);
      saveLayout(cy);
    },

    async exportPng() {
      const three = view.three && view3d.current;
      const blob = three
        ? await view3d.current.png()
        : cyRef.current.png({ output: "blob", full: true, scale: 2, bg: statusColours().background });
      download(blob, `ose-mesh-dependencies${three ? "-3d" : ""}.png`);
    },

    async focus(event) {
      event?.preventDefault();
      const cy = cyRef.current;
      const id = focus.trim();
      if (!cy || !id) return;
      if (!cy.getElementById(id).length) {
        setError(`No service "${id}" in the graph.`);
        return;
      }
      try {
        const variables = { id, depth: depth === "all" ? null : Number(depth) };
        const reached = (await request(NEIGHBOURHOOD, variables)).serviceDependencies;
        const ids = [...(reached.dependencies ?? []), ...(reached.dependents ?? [])];
        focusOn(cy, id, ids.map((r) => r.serviceId));
        view3d.current?.mark(new Set([id, ...ids.map((r) => r.serviceId)]));
        view3d.current?.lookAt(id);
        setSelected(id);
        setError("");
      } catch (e) {
        setError(e.message);
      }
    },

    async impact(id) {
      try {
        const { impact } = await request(IMPACT, { id });
        markImpact(cyRef.current, id, impact);
        setHighlight(`A failure of ${id}: ${impact.failed.length} fail, ${impact.degraded.length} degrade.`);
      } catch (e) {
        setError(e.message);
      }
    },

    async drift() {
      try {
        const drift = (await request(DRIFT, { window: 24 * 60 })).dependencyDrift;
        markDrift(cyRef.current, drift);
        setHighlight(driftSummary(drift));
        setError("");
      } catch (e) {
        setError(e.message);
      }
    },

    rootCauses() {
      const causes = markRootCauses(cyRef.current, services.value);
      if (causes.size) view3d.current?.mark(causes);
      setHighlight(causes.size ? `Trouble starts at: ${[...causes].join(", ")}` : "No service is in trouble because of another.");
    },
  };

  // Escape closes the details panel.
  useEffect(() => {
    const close = (event) => event.key === "Escape" && setSelected(null);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, []);

  // Focus on the service named in the address (links from the other pages).
  useEffect(() => {
    if (graph && focus && cyRef.current) actions.focus();
  }, [built]);

  return (
    <main class="dependencies">
      <ViewBar graph={graph} view={view} setView={setView} focus={focus} setFocus={setFocus}
        depth={depth} setDepth={setDepth} actions={actions} />
      <FilterBar graph={graph} filters={filters} setFilters={setFilters} shown={shown} />
      {error ? <p class="error" role="alert">{error}</p> : null}
      {highlight ? <p class="highlight">{highlight}</p> : null}
      {graph && !graph.services.length ? <NoServicesYet /> : null}
      <div class="graph-area">
        <div class="graph-box">
          <div ref={box} class="graph" hidden={view.three} data-testid="graph-2d" />
          <canvas ref={preview} class="graph preview" hidden data-testid="graph-preview"
            aria-hidden="true" />
          {view.three ? <div ref={box3d} class="graph" data-testid="graph-3d" /> : null}
          {tooltip && !view.three ? <Tooltip {...tooltip} /> : null}
          <Legend />
        </div>
        {selected ? (
          <Details id={selected} graph={graph} onImpact={actions.impact} onClose={() => setSelected(null)} />
        ) : null}
      </div>
    </main>
  );
}

/** The drift of the last 24 hours in a sentence, with why each suspect edge is one. */
function driftSummary({ undeclared, unseen, suspect }) {
  if (!undeclared.length && !unseen.length && !suspect.length) {
    return "Drift over 24 h: the declarations and the traces agree.";
  }
  const why = suspect.slice(0, 3).map((s) => ` ${s.dependency.source} → ${s.dependency.target}: ${s.reason}.`);
  return `Drift over 24 h: ${undeclared.length} seen in traces but not declared (dotted blue), ` +
    `${unseen.length} declared but not seen (dashed), ${suspect.length} contradicted by their traffic ` +
    `(orange).${why.join("")}`;
}

function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
