// The 3D view (3d-force-graph, three.js), loaded only when it is switched on.
import ForceGraph3D from "3d-force-graph";
import { statusColours } from "./graphStyle.js";

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class Graph3D {
  constructor(container, graph, live, physics) {
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
    this.view = new ForceGraph3D(container, { rendererConfig: { preserveDrawingBuffer: true } })
      .width(container.clientWidth)
      .height(container.clientHeight)
      .backgroundColor(this.colours.background)
      .graphData({ nodes: this.nodes, links })
      // 3d-force-graph shows labels as HTML: service names are escaped first.
      .nodeLabel((node) => `${escapeHtml(node.id)}: ${node.status.toLowerCase()}`)
      .nodeColor((node) => this.colours[node.status])
      .nodeRelSize(4)
      .linkColor((link) => (link.type === "circular" ? this.colours.CRITICAL : this.colours.edge))
      .linkWidth((link) => (link.type === "hard" ? 1.2 : 0.4))
      .linkDirectionalArrowLength(3)
      .linkDirectionalArrowRelPos(1);
    this.setPhysics(physics);
  }

  setPhysics(on) {
    // On: the simulation never cools down, nodes keep settling as they are dragged.
    // Off: it stops at the next tick, leaving everything where it is.
    if (on) this.view.d3AlphaDecay(0).cooldownTicks(Infinity).cooldownTime(Infinity).d3ReheatSimulation();
    else this.view.d3AlphaDecay(0.0228).cooldownTicks(0);
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
    if (changed) this.view.nodeColor(this.view.nodeColor()); // redraw with the new colours
  }

  reset() {
    this.view.zoomToFit(400);
  }

  png() {
    return new Promise((resolve) => this.view.renderer().domElement.toBlob(resolve, "image/png"));
  }

  dispose() {
    this.view._destructor?.();
  }
}
