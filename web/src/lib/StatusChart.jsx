// Services per status over the last 24 h, stacked (uPlot), the worst on top.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cssVar } from "./components.jsx";

const HEIGHT = 200;
const LAYERS = ["healthy", "unknown", "degraded", "critical", "dead"]; // bottom to top

export function StatusChart({ points }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const raw = LAYERS.map((status) => points.map((p) => p[status]));
    // Each layer is drawn at the sum of those below it and itself; the legend shows its own.
    const stacked = raw.map((_, layer) =>
      points.map((__, i) => raw.slice(0, layer + 1).reduce((sum, values) => sum + values[i], 0)),
    );
    const text = cssVar("--text");
    const grid = { stroke: cssVar("--border"), width: 1 };
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: HEIGHT,
        series: [
          {},
          ...LAYERS.map((status, layer) => {
            const colour = cssVar(`--status-${status}`);
            return {
              label: status,
              stroke: colour,
              fill: layer === 0 ? `${colour}99` : undefined,
              value: (u, v, series, index) => (index == null ? "–" : raw[series - 1][index]),
              points: { show: false },
            };
          }),
        ],
        bands: LAYERS.slice(1).map((status, i) => ({
          series: [i + 2, i + 1],
          fill: `${cssVar(`--status-${status}`)}99`,
        })),
        scales: { y: { range: (_, low, high) => [0, Math.max(1, high)] } },
        axes: [
          { stroke: text, grid, ticks: grid },
          { stroke: text, grid, ticks: grid, label: "services", size: 50 },
        ],
      },
      [points.map((p) => Date.parse(p.at) / 1000), ...stacked],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points]);
  const last = points[points.length - 1];
  const summary = last ? LAYERS.map((s) => `${last[s]} ${s}`).join(", ") : "no data";
  return <div ref={box} class="chart" data-testid="status-chart" role="img"
    aria-label={`Services per status over the last 24 hours; now ${summary}`} />;
}
