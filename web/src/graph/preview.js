// A first drawing of a big graph from its saved layout, on a plain canvas: dots and lines
// in tens of milliseconds, while Cytoscape (half a second to seconds at 2,000 services)
// builds the interactive graph behind it. Drawn as Cytoscape's fit will place it, so the
// swap is barely visible.
export const FIT_PADDING = 30; // around the graph when it is fitted to its box, here and in Cytoscape
const RADIUS = 9; // half a node's width (graphStyle.js)

export function drawPreview(canvas, graph, positions, colours, live) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = width;
  canvas.height = height;
  const points = Object.values(positions);
  if (!points.length || !width || !height) return;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const left = Math.min(...xs) - RADIUS;
  const top = Math.min(...ys) - RADIUS;
  const spanX = Math.max(...xs) + RADIUS - left || 1;
  const spanY = Math.max(...ys) + RADIUS - top || 1;
  const zoom = Math.min((width - 2 * FIT_PADDING) / spanX, (height - 2 * FIT_PADDING) / spanY);
  const offsetX = (width - spanX * zoom) / 2 - left * zoom;
  const offsetY = (height - spanY * zoom) / 2 - top * zoom;
  const at = (p) => [p.x * zoom + offsetX, p.y * zoom + offsetY];
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  context.strokeStyle = colours.edge;
  context.globalAlpha = 0.6;
  context.lineWidth = 1;
  context.beginPath();
  for (const { source, target } of graph.dependencies) {
    const from = positions[source];
    const to = positions[target];
    if (!from || !to) continue;
    context.moveTo(...at(from));
    context.lineTo(...at(to));
  }
  context.stroke();
  context.globalAlpha = 1;
  const radius = Math.max(1, RADIUS * zoom);
  for (const service of graph.services) {
    const where = positions[service.id];
    if (!where) continue;
    const [x, y] = at(where);
    context.fillStyle = colours[live.get(service.id)?.health.status ?? service.status] ?? colours.UNKNOWN;
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.fill();
  }
  canvas.dataset.drawn = String(graph.services.length);
}
