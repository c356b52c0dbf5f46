import { effect } from "@preact/signals";
import cytoscape from "cytoscape";
import cola from "cytoscape-cola";
import fcose from "cytoscape-fcose";
import { useEffect, useRef, useState } from "preact/hooks";
import { request, subscribe } from "../lib/client.js";
import { NoServicesYet, StatusBadge, fmtMs, fmtPercent } from "../lib/components.jsx";
import { GRAPH, GRAPH_CHANGED, IMPACT, NEIGHBOURHOOD } from "../lib/documents.js";
import { services, startServices } from "../lib/stores.js";
import { graphStyle, statusColours } from "./graphStyle.js";

cytoscape.use(fcose);
cytoscape.use(cola);

const TYPES = ["hard", "soft", "optional", "circular"];
const RELATIONSHIPS = ["sync_api", "async_event", "message_queue", "database", "cache", "service_mesh"];
const SMALL = 300; // below this many services: nicer curves and an animated layout

export function Dependencies() {
  startServices();
  const box = useRef(null);
  const box3d = useRef(null);
  const cyRef = useRef(null);
  const view3d = useRef(null);
  const [graph, setGraph] = useState(null);
  const [error, setError] = useState("");
  const [selected, setSelected] = useState(null);
  const [tooltip, setTooltip] = useState(null);
  const [physics, setPhysics] = useState(false);
  const [three, setThree] = useState(false);
  const [filters, setFilters] = useState({ cluster: "", relationship: "", types: new Set(TYPES) });
  const [focus, setFocus] = useState(new URLSearchParams(location.search).get("focus") ?? "");
  const [depth, setDepth] = useState("1");
  const [highlight, setHighlight] = useState("");
  const [shown, setShown] = useState({ nodes: 0, edges: 0 });

  // The graph: a snapshot, then again after every change (a burst of changes loads once).
  useEffect(() => {
    let timer = null;
    const load = () =>
      request(GRAPH)
        .then((data) => {
          setGraph(data.dependencyGraph);
          setError("");
        })
        .catch((e) => setError(e.message));
    load();
    const stop = subscribe(GRAPH_CHANGED, {}, () => {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, []);

  // Draw it (again) when it changed.
  useEffect(() => {
    if (!graph || !box.current) return;
    const old = cyRef.current;
    const positions = old ? Object.fromEntries(old.nodes().map((n) => [n.id(), n.position()])) : {};
    old?.destroy();
    const small = graph.services.length < SMALL;
    const colours = statusColours();
    const style = graphStyle(colours);
    if (small) style.push({ selector: "edge", style: { "curve-style": "bezier" } });
    const cy = cytoscape({
      container: box.current,
      elements: elementsOf(graph),
      style,
      wheelSensitivity: 0.3,
      textureOnViewport: !small, // pan and zoom move a picture of the graph: fluid at 2,000
      hideEdgesOnViewport: graph.dependencies.length > 5000,
      pixelRatio: 1,
    });
    cyRef.current = cy;
    const known = Object.keys(positions).length && cy.nodes().every((n) => positions[n.id()]);
    cy.layout(
      known
        ? { name: "preset", positions }
        : { name: "fcose", quality: small ? "default" : "draft", animate: false, randomize: true,
            nodeDimensionsIncludeLabels: small, packComponents: true },
    ).run();
    cy.on("tap", "node", (event) => setSelected(event.target.id()));
    cy.on("tap", (event) => event.target === cy && setSelected(null));
    cy.on("mouseover", "node", (event) => {
      const { x, y } = event.target.renderedPosition();
      setTooltip({ id: event.target.id(), x, y });
    });
    cy.on("mouseout", "node", () => setTooltip(null));
    cy.on("viewport drag", () => setTooltip(null));
    window.oseMesh = { cy }; // for the console (and the browser tests)
    return undefined;
  }, [graph]);

  useEffect(() => () => cyRef.current?.destroy(), []);

  // Live status: recolour nodes as services change, without redrawing the graph.
  useEffect(
    () =>
      effect(() => {
        const all = services.value;
        const cy = cyRef.current;
        if (!cy) return;
        cy.batch(() => {
          for (const node of cy.nodes()) {
            const status = all.get(node.id())?.health.status;
            if (status && node.data("status") !== status) node.data("status", status);
          }
        });
        view3d.current?.recolour(all);
      }),
    [graph],
  );

  // Filters, focus and highlights: classes on the drawn elements.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy || !graph) return;
    applyFilters(cy, graph, filters);
    setShown({ nodes: cy.nodes(":visible").length, edges: cy.edges(":visible").length });
  }, [graph, filters]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    if (physics) {
      const layout = cy.layout({ name: "cola", infinite: true, fit: false, animate: true,
        nodeSpacing: 8, edgeLength: 80, randomize: false });
      layout.run();
      return () => layout.stop();
    }
    return undefined;
  }, [physics, graph]);

  useEffect(() => {
    if (!three || !graph) return undefined;
    let disposed = false;
    import("./graph3d.js").then(({ Graph3D }) => {
      if (disposed) return;
      view3d.current = new Graph3D(box3d.current, graph, services.value, physics);
    });
    return () => {
      disposed = true;
      view3d.current?.dispose();
      view3d.current = null;
    };
  }, [three, graph]);

  useEffect(() => {
    view3d.current?.setPhysics(physics);
  }, [physics]);

  const resetView = () => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.elements().removeClass("dimmed impact-failed impact-degraded impact-origin root-cause trail");
    setHighlight("");
    setFocus("");
    setFilters({ cluster: "", relationship: "", types: new Set(TYPES) });
    cy.elements().unselect();
    cy.fit(undefined, 30);
    view3d.current?.reset();
  };

  const exportPng = async () => {
    const blob = three && view3d.current
      ? await view3d.current.png()
      : cyRef.current.png({ output: "blob", full: true, scale: 2, bg: statusColours().background });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `ose-mesh-dependencies${three ? "-3d" : ""}.png`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  };

  const focusOn = async (event) => {
    event?.preventDefault();
    const cy = cyRef.current;
    const id = focus.trim();
    if (!cy || !id) return;
    if (!cy.getElementById(id).length) {
      setError(`No service "${id}" in the graph.`);
      return;
    }
    try {
      const data = await request(NEIGHBOURHOOD, { id, depth: depth === "all" ? null : Number(depth) });
      const reached = data.serviceDependencies;
      const reachedIds = [...(reached.dependencies ?? []), ...(reached.dependents ?? [])].map((r) => r.serviceId);
      const ids = new Set([id, ...reachedIds]);
      const keep = cy.nodes().filter((n) => ids.has(n.id()));
      cy.elements().addClass("dimmed");
      keep.union(keep.edgesWith(keep)).removeClass("dimmed");
      cy.getElementById(id).select();
      cy.animate({ fit: { eles: keep, padding: 40 }, duration: 300 });
      setSelected(id);
      setError("");
    } catch (e) {
      setError(e.message);
    }
  };

  // Focus on the service named in the address (links from the other pages).
  useEffect(() => {
    if (graph && focus && cyRef.current) focusOn();
  }, [graph]);

  const showImpact = async (id) => {
    const cy = cyRef.current;
    try {
      const { impact } = await request(IMPACT, { id });
      cy.elements().removeClass("impact-failed impact-degraded impact-origin root-cause trail").addClass("dimmed");
      const mark = (entries, cls) => {
        for (const entry of entries) {
          cy.getElementById(entry.serviceId).removeClass("dimmed").addClass(cls);
          trail(cy, entry.path);
        }
      };
      cy.getElementById(id).removeClass("dimmed").addClass("impact-origin impact-failed");
      mark(impact.failed, "impact-failed");
      mark(impact.degraded, "impact-degraded");
      setHighlight(`A failure of ${id}: ${impact.failed.length} fail, ${impact.degraded.length} degrade.`);
    } catch (e) {
      setError(e.message);
    }
  };

  const showRootCauses = () => {
    const cy = cyRef.current;
    cy.elements().removeClass("impact-failed impact-degraded impact-origin root-cause trail").addClass("dimmed");
    const causes = new Set();
    for (const service of services.value.values()) {
      if (!service.health.rootCauses.length) continue;
      cy.getElementById(service.id).removeClass("dimmed");
      service.health.rootCauses.forEach((cause) => causes.add(cause));
    }
    for (const cause of causes) cy.getElementById(cause).removeClass("dimmed").addClass("root-cause");
    setHighlight(causes.size ? `Trouble starts at: ${[...causes].join(", ")}` : "No service is in trouble because of another.");
  };

  const clusters = graph?.clusters.map((c) => c.name) ?? [];
  return (
    <main class="dependencies">
      <form class="toolbar" onSubmit={focusOn}>
        <button type="button" onClick={resetView}>Reset View</button>
        <button type="button" aria-pressed={physics} onClick={() => setPhysics(!physics)}>
          Toggle Physics{physics ? " (on)" : ""}
        </button>
        <button type="button" onClick={exportPng} disabled={!graph}>Export PNG</button>
        <button type="button" aria-pressed={three} onClick={() => setThree(!three)}>
          {three ? "2D" : "3D"}
        </button>
        <button type="button" onClick={showRootCauses} disabled={!graph || three}>Root causes</button>
        <span class="sep" />
        <input list="service-ids" placeholder="Focus on a service" aria-label="Focus on a service"
          value={focus} onInput={(e) => setFocus(e.currentTarget.value)} />
        <select aria-label="Depth" value={depth} onChange={(e) => setDepth(e.currentTarget.value)}>
          {["1", "2", "3", "5", "all"].map((d) => <option key={d} value={d}>depth {d}</option>)}
        </select>
        <button type="submit" disabled={three}>Focus</button>
        <datalist id="service-ids">
          {(graph?.services ?? []).slice(0, 5000).map((s) => <option key={s.id} value={s.id} />)}
        </datalist>
      </form>
      <div class="toolbar filters">
        <select aria-label="Cluster" value={filters.cluster}
          onChange={(e) => setFilters({ ...filters, cluster: e.currentTarget.value })}>
          <option value="">All clusters</option>
          {clusters.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <select aria-label="Relationship" value={filters.relationship}
          onChange={(e) => setFilters({ ...filters, relationship: e.currentTarget.value })}>
          <option value="">All relationships</option>
          {RELATIONSHIPS.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
        {TYPES.map((type) => (
          <label key={type} class={`edge-key edge-${type}`}>
            <input type="checkbox" checked={filters.types.has(type)}
              onChange={(e) => {
                const types = new Set(filters.types);
                e.currentTarget.checked ? types.add(type) : types.delete(type);
                setFilters({ ...filters, types });
              }} />
            {type}
          </label>
        ))}
        <span class="muted" data-testid="graph-counts">
          {shown.nodes} services, {shown.edges} dependencies shown
        </span>
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {highlight ? <p class="highlight">{highlight}</p> : null}
      {graph && !graph.services.length ? <NoServicesYet /> : null}
      <div class="graph-area">
        <div ref={box} class="graph" hidden={three} data-testid="graph-2d" />
        {three ? <div ref={box3d} class="graph" data-testid="graph-3d" /> : null}
        {tooltip && !three ? <Tooltip {...tooltip} /> : null}
        {selected ? (
          <Details id={selected} graph={graph} onImpact={showImpact} onClose={() => setSelected(null)} />
        ) : null}
      </div>
    </main>
  );
}

function elementsOf(graph) {
  const live = services.value;
  return {
    nodes: graph.services.map((s) => ({
      data: { id: s.id, status: live.get(s.id)?.health.status ?? s.status, cluster: s.cluster ?? "",
        monitored: s.monitored },
    })),
    edges: graph.dependencies.map((d) => ({
      data: { id: `${d.source}->${d.target}`, source: d.source, target: d.target, type: d.type.toLowerCase(),
        relationship: d.relationship.toLowerCase() },
    })),
  };
}

function applyFilters(cy, graph, { cluster, relationship, types }) {
  const members = cluster ? new Set(graph.clusters.find((c) => c.name === cluster)?.services) : null;
  cy.batch(() => {
    cy.elements().removeClass("hidden");
    if (members) cy.nodes().filter((n) => !members.has(n.id())).addClass("hidden");
    cy.edges()
      .filter((e) => !types.has(e.data("type")) || (relationship && e.data("relationship") !== relationship))
      .addClass("hidden");
  });
}

function trail(cy, path) {
  for (let i = 1; i < path.length; i++) {
    // the path runs from the failed service to its dependents: edges point the other way
    cy.getElementById(`${path[i]}->${path[i - 1]}`).removeClass("dimmed").addClass("trail");
  }
}

function Tooltip({ id, x, y }) {
  const service = services.value.get(id);
  return (
    <div class="tooltip" style={{ left: `${x + 12}px`, top: `${y + 12}px` }} role="tooltip">
      <strong>{id}</strong>
      {service ? <StatusBadge status={service.health.status} /> : <span class="muted"> not monitored</span>}
      {service?.health.reason ? <div class="muted">{service.health.reason}</div> : null}
    </div>
  );
}

function Details({ id, graph, onImpact, onClose }) {
  const service = services.value.get(id);
  const needs = graph.dependencies.filter((d) => d.source === id);
  const neededBy = graph.dependencies.filter((d) => d.target === id);
  const m = service?.health.metrics;
  return (
    <aside class="panel details" aria-label={`Details of ${id}`} data-testid="details">
      <header>
        <h2>{id}</h2>
        <button type="button" onClick={onClose} aria-label="Close">×</button>
      </header>
      {service ? (
        <>
          <p><StatusBadge status={service.health.status} /> <span class="muted">{service.health.reason}</span></p>
          {service.health.rootCauses.length ? <p>Trouble starts at: {service.health.rootCauses.join(", ")}</p> : null}
          <dl class="facts">
            <dt>p50 / p95</dt><dd>{fmtMs(m.p50LatencyMs)} / {fmtMs(m.p95LatencyMs)}</dd>
            <dt>Uptime</dt><dd>{fmtPercent(m.uptimePercentage)}</dd>
            <dt>Heartbeats</dt><dd>{m.heartbeatCount}</dd>
            <dt>Cluster</dt><dd>{service.cluster ?? "–"}</dd>
          </dl>
        </>
      ) : (
        <p class="muted">Not monitored: only named by a dependency.</p>
      )}
      <h3>Depends on ({needs.length})</h3>
      <EdgeList edges={needs} other={(d) => d.target} />
      <h3>Needed by ({neededBy.length})</h3>
      <EdgeList edges={neededBy} other={(d) => d.source} />
      <button type="button" onClick={() => onImpact(id)}>Show the impact of a failure</button>
    </aside>
  );
}

function EdgeList({ edges, other }) {
  if (!edges.length) return <p class="muted">none</p>;
  return (
    <ul class="edges">
      {edges.slice(0, 100).map((d) => (
        <li key={`${d.source}->${d.target}`}>
          {other(d)} <span class={`edge-key edge-${d.type.toLowerCase()}`}>{d.type.toLowerCase()}</span>{" "}
          <span class="muted">{d.relationship.toLowerCase()}</span>
        </li>
      ))}
      {edges.length > 100 ? <li class="muted">and {edges.length - 100} more</li> : null}
    </ul>
  );
}
