// The 3D view (3d-force-graph, three.js), loaded only when it is switched on. Same colours
// as 2D, labels on the nodes, hover lights up a node's neighbours, a click opens the same
// details panel, and root causes and focus dim everything else.
import ForceGraph3D from "3d-force-graph";
import SpriteText from "three-spritetext";
import { statusColours } from "./graphStyle.js";

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ALL_LABELS = 500; // above this many services, only the troubled and the lit are labelled
const DIM = "rgba(128,128,128,0.15)";

export class Graph3D {
  constructor(container, graph, live, physics, onSelect) {
    this.colours = statusColours();
    this.nodes = graph.services.map((s) => ({
      id: s.id,
      status: live.get(s.id)?.health.status ?? s.status,
    }));
    const links = graph.dependencies.map((d) => ({
      source: d.source,
      target: d.target,
      type: d.type.toLowerCase(),
    }));
    this.neighbours = new Map(this.nodes.map((n) => [n.id, new Set()]));
    for (const link of links) {
      this.neighbours.get(link.source)?.add(link.target);
      this.neighbours.get(link.target)?.add(link.source);
    }
    this.lit = null; // ids shown at full strength (hover, root causes, focus); null: all
    this.marked = null; // what root causes or focus chose (hover comes and goes over it)
    this.labelAll = this.nodes.length <= ALL_LABELS;
    this.labelled = new Set();
    this.fitted = false;
    this.container = container;
    // What the canvas shows, said in words (screen readers; tests read it too).
    container.setAttribute("role", "img");
    this.describe();
    this.view = new ForceGraph3D(container, { rendererConfig: { preserveDrawingBuffer: true } })
      .width(container.clientWidth)
      .height(container.clientHeight)
      .backgroundColor(this.colours.background)
      .graphData({ nodes: this.nodes, links })
      // 3d-force-graph shows this tooltip as HTML: service names are escaped first.
      .nodeLabel((node) => `${escapeHtml(node.id)}: ${node.status.toLowerCase()}`)
      .nodeColor((node) => (this.shown(node.id) ? this.colours[node.status] : DIM))
      .nodeRelSize(4)
      .nodeThreeObjectExtend(true) // the sphere stays; the label is added above it
      .nodeThreeObject((node) => this.label(node))
      .linkColor((link) => this.linkColour(link))
      .linkWidth((link) => (link.type === "hard" ? 1.2 : 0.4))
      .linkDirectionalArrowLength(3)
      .linkDirectionalArrowRelPos(1)
      .onNodeHover((node) => this.light(node ? new Set([node.id, ...this.neighbours.get(node.id)]) : null))
      .onNodeClick((node) => onSelect(node.id))
      .onBackgroundClick(() => onSelect(null))
      .onEngineStop(() => {
        if (this.fitted) return;
        this.fitted = true; // the first time the layout settles: the whole graph in view
        this.view.zoomToFit(400, 20);
        this.describe();
      });
    this.setPhysics(physics);
    // The canvas follows its box (the details panel opening beside it shrinks it).
    this.resize = new ResizeObserver(() =>
      this.view.width(container.clientWidth).height(container.clientHeight),
    );
    this.resize.observe(container);
  }

  shown(id) {
    return this.lit == null || this.lit.has(id);
  }

  linkColour(link) {
    const source = link.source.id ?? link.source;
    const target = link.target.id ?? link.target;
    if (!this.shown(source) || !this.shown(target)) return DIM;
    return link.type === "circular" ? this.colours.CRITICAL : this.colours.edge;
  }

  label(node) {
    const troubled = node.status !== "HEALTHY" && node.status !== "UNKNOWN";
    if (!this.labelAll && !troubled && !(this.lit?.has(node.id) && this.lit.size < ALL_LABELS)) {
      this.labelled.delete(node.id);
      this.describeSoon();
      return null;
    }
    const text = new SpriteText(node.id, 3, this.shown(node.id) ? this.colours.text : DIM);
    text.position.y = 7; // above the sphere
    text.material.depthWrite = false;
    this.labelled.add(node.id);
    this.describeSoon();
    return text;
  }

  describeSoon() {
    if (this.describing) return;
    this.describing = requestAnimationFrame(() => {
      this.describing = null;
      this.describe();
    });
  }

  describe() {
    const lit = this.lit == null ? this.nodes.length : this.lit.size;
    this.container.setAttribute(
      "aria-label",
      `3D view of ${this.nodes.length} services: ${this.labelled.size} labelled, ${lit} highlighted`,
    );
    Object.assign(this.container.dataset, {
      labelled: this.labelled.size,
      lit,
      fitted: this.fitted,
    });
  }

  /** Show `ids` at full strength and dim the rest (null: everything). */
  light(ids) {
    this.lit = ids ?? this.marked;
    this.redraw();
    this.describe();
  }

  /** Root causes or a focus: dims the rest until cleared with null. */
  mark(ids) {
    this.marked = ids;
    this.light(ids);
  }

  /** Turn the camera towards one service. */
  lookAt(id) {
    const node = this.nodes.find((n) => n.id === id);
    if (!node || node.x == null) return;
    const distance = 120;
    const ratio = 1 + distance / Math.max(1, Math.hypot(node.x, node.y, node.z));
    this.view.cameraPosition({ x: node.x * ratio, y: node.y * ratio, z: node.z * ratio }, node, 600);
  }

  redraw() {
    this.view
      .nodeColor(this.view.nodeColor())
      .linkColor(this.view.linkColor())
      .nodeThreeObject(this.view.nodeThreeObject());
  }

  setPhysics(on) {
    // On: the simulation never cools down, nodes keep settling as they are dragged.
    // Off: it cools down as usual and then stops, leaving everything where it is.
    if (on) this.view.d3AlphaDecay(0).cooldownTicks(Infinity).cooldownTime(Infinity).d3ReheatSimulation();
    else this.view.d3AlphaDecay(0.0228).cooldownTicks(this.fitted ? 0 : 200).cooldownTime(15_000);
  }

  recolour(live) {
    let changed = false;
    for (const node of this.nodes) {
      const status = live.get(node.id)?.health.status;
      if (status && status !== node.status) {
        node.status = status;
        changed = true;
      }
    }
    if (changed) this.redraw();
  }

  reset() {
    this.mark(null);
    this.view.zoomToFit(400, 20);
  }

  png() {
    return new Promise((resolve) => this.view.renderer().domElement.toBlob(resolve, "image/png"));
  }

  dispose() {
    this.resize.disconnect();
    cancelAnimationFrame(this.describing);
    this.view._destructor?.();
  }
}
