// The hooks behind the dependency explorer: the graph from the server (kept current), and a
// Cytoscape instance drawing it (recoloured live, laid out again only when it changes).
import { effect } from "@preact/signals";
import cytoscape from "cytoscape";
import cola from "cytoscape-cola";
import fcose from "cytoscape-fcose";
import { useEffect, useRef, useState } from "preact/hooks";
import { request, subscribe } from "../lib/client.js";
import { GRAPH, GRAPH_CHANGED } from "../lib/documents.js";
import { services } from "../lib/stores.js";
import { elementsOf, trafficOf } from "./elements.js";
import { graphStyle, statusColours } from "./graphStyle.js";
import { FIT_PADDING, drawPreview } from "./preview.js";
import { loadLayout, placeFromSaved, saveLayout } from "./savedLayout.js";

cytoscape.use(fcose);
cytoscape.use(cola);

const SMALL = 300; // below this many services: nicer curves and an animated layout

/** The dependency graph: a snapshot, then again after every change (a burst loads once).
 * A reload in the same tab first draws the graph this tab saw last (sessionStorage), and
 * draws again only if the server's differs: the drawing does not wait for the network.
 * Traffic seen in traces changes all the time: it is read again every TRAFFIC_SECONDS and
 * given apart, so that the graph is not drawn again for it. */
export function useDependencyGraph() {
  const [graph, setGraph] = useState(keptGraph);
  const [traffic, setTraffic] = useState(() => new Map());
  const [error, setError] = useState("");
  useEffect(() => {
    let timer = null;
    const load = () =>
      request(GRAPH)
        .then((data) => {
          const fresh = data.dependencyGraph;
          setGraph((shown) => (shown && sameShape(shown, fresh) ? shown : fresh));
          setTraffic(trafficOf(fresh));
          keepGraph(fresh);
          setError("");
        })
        .catch((e) => setError(e.message));
    load();
    const stop = subscribe(GRAPH_CHANGED, {}, () => {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    });
    const polling = setInterval(() => document.hidden || load(), TRAFFIC_SECONDS * 1000);
    return () => {
      stop();
      clearTimeout(timer);
      clearInterval(polling);
    };
  }, []);
  return { graph, traffic, error, setError };
}

const TRAFFIC_SECONDS = 15;

const GRAPH_KEY = "ose-mesh.explorer-graph.v2";

function keptGraph() {
  try {
    return JSON.parse(sessionStorage.getItem(GRAPH_KEY) ?? "null");
  } catch {
    return null;
  }
}

function keepGraph(graph) {
  try {
    sessionStorage.setItem(GRAPH_KEY, JSON.stringify(graph));
  } catch {
    sessionStorage.removeItem(GRAPH_KEY); // too big for the tab's storage: no shortcut
  }
}

/** The same services and edges (statuses are drawn from the live store either way). */
function sameShape(a, b) {
  const shape = (g) =>
    JSON.stringify([
      g.services.map((s) => [s.id, s.cluster, s.monitored]),
      g.dependencies.map((d) => [d.source, d.target, d.type, d.relationship, d.description, d.origin]),
      (g.observedDependencies ?? []).map((d) => [d.source, d.target, d.relationship]),
      g.clusters,
    ]);
  return shape(a) === shape(b);
}

/** Cytoscape in `box`, drawing `graph`; `on` gets select(id | null) and hover(tip | null).
 * Returns the instance's ref and a number that changes each time a new one is drawn. A big
 * graph with a saved layout is first drawn on `preview` (preview.js), and Cytoscape is
 * built once the browser has shown that. */
export function useCytoscape(box, preview, graph, on) {
  const cyRef = useRef(null);
  const [built, setBuilt] = useState(0);

  useEffect(() => {
    if (!graph || !box.current) return undefined;
    const old = cyRef.current;
    // Where the nodes were: on this page a moment ago, or when this browser last drew them.
    const before = old
      ? Object.fromEntries(old.nodes().map((n) => [n.id(), [n.position("x"), n.position("y")]]))
      : loadLayout();
    const positions = placeFromSaved(graph, before);
    const small = graph.services.length < SMALL;
    let cancelled = false;

    const build = () => {
      if (cancelled) return;
      cyRef.current?.destroy();
      const style = graphStyle(statusColours());
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
      cy.one("render", () => {
        performance.mark("explorer-graph-drawn"); // benchmarks/web.py reads these marks
        if (preview.current) preview.current.hidden = true;
      });
      if (positions) {
        cy.layout({ name: "preset", positions, fit: true, padding: FIT_PADDING }).run();
      } else {
        runForceLayout(cy, small);
      }
      saveLayout(cy);
      listen(cy, on);
      setBuilt((n) => n + 1);
    };

    if (!old && positions && !small && preview.current) {
      preview.current.hidden = false;
      drawPreview(preview.current, graph, positions, statusColours(), services.value);
      // Let the browser show the preview before Cytoscape takes the main thread.
      requestAnimationFrame(() => {
        performance.mark("explorer-preview-drawn"); // painted in this frame
        setTimeout(build, 0);
      });
    } else {
      build();
    }
    return () => {
      cancelled = true;
    };
  }, [graph]);

  useEffect(() => () => cyRef.current?.destroy(), []);

  // The canvas follows its box (the details panel opening beside it shrinks it).
  useEffect(() => {
    if (!box.current) return undefined;
    const observer = new ResizeObserver(() => cyRef.current?.resize());
    observer.observe(box.current);
    return () => observer.disconnect();
  }, [box.current]);

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
      }),
    [built],
  );

  return [cyRef, built];
}

/** What the explorer does with the pointer on a Cytoscape instance. */
function listen(cy, on) {
  let saving = null; // a node dragged: kept once the user lets go
  cy.on("dragfree", "node", () => {
    clearTimeout(saving);
    saving = setTimeout(() => saveLayout(cy), 300);
  });
  cy.on("tap", "node", (event) => on.select(event.target.id()));
  cy.on("tap", (event) => event.target === cy && on.select(null));
  cy.on("mouseover", "node", (event) => {
    const { x, y } = event.target.renderedPosition();
    on.hover({ id: event.target.id(), x, y });
  });
  cy.on("mouseout", "node", () => on.hover(null));
  cy.on("mouseover", "edge", (event) => {
    // where the pointer is on the line (the line's middle for an event with no pointer)
    const { x, y } = event.renderedPosition ?? event.target.renderedMidpoint();
    on.hover({ edge: { ...event.target.data() }, x, y });
  });
  cy.on("mouseout", "edge", () => on.hover(null));
  // A tooltip goes when the view really moves (Cytoscape also says "viewport" while the
  // pointer merely crosses the canvas, which would take every tooltip away at once).
  let view = "";
  cy.on("viewport", () => {
    const now = `${cy.zoom()} ${cy.pan().x} ${cy.pan().y}`;
    if (now !== view) on.hover(null);
    view = now;
  });
  cy.on("drag", () => on.hover(null));
}

/** Lay the graph out from scratch (fcose): seconds at 2,000 services, so done once and kept. */
export function runForceLayout(cy, small = cy.nodes().length < SMALL) {
  cy.layout({ name: "fcose", quality: small ? "default" : "draft", animate: false, randomize: true,
    nodeDimensionsIncludeLabels: small, packComponents: true }).run();
}

/** While `on`, a force layout keeps running on the drawn graph. */
export function usePhysics(cyRef, on, built) {
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy || !on) return undefined;
    const layout = cy.layout({ name: "cola", infinite: true, fit: false, animate: true,
      nodeSpacing: 8, edgeLength: 80, randomize: false });
    layout.run();
    return () => {
      layout.stop();
      saveLayout(cy); // where physics left the nodes is the layout now
    };
  }, [on, built]);
}

/** The 3D view (three.js, loaded only when switched on), recoloured live; `onSelect`
 * gets the id of a clicked service (null: the background). */
export function useGraph3D(box, graph, shown, physics, onSelect) {
  const view = useRef(null);
  useEffect(() => {
    if (!shown || !graph) return undefined;
    let disposed = false;
    import("./graph3d.js").then(({ Graph3D }) => {
      if (disposed) return;
      view.current = new Graph3D(box.current, graph, services.value, physics, onSelect);
    });
    return () => {
      disposed = true;
      view.current?.dispose();
      view.current = null;
    };
  }, [shown, graph]);
  useEffect(() => {
    view.current?.setPhysics(physics);
  }, [physics]);
  useEffect(() => effect(() => view.current?.recolour(services.value)), [graph]);
  return view;
}
