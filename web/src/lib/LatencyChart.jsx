// A service's latency (p50, p95) and uptime per bucket, drawn by uPlot with axes and units.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cssVar, fmtMs, fmtPercent } from "./components.jsx";

const HEIGHT = 220;

/** `seconds`: how far back the time axis goes, to now (one point still spans the window). */
export function LatencyChart({ points, label, seconds }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const text = cssVar("--text");
    const grid = { stroke: cssVar("--border"), width: 1 };
    const axis = (extra) => ({ stroke: text, grid, ticks: grid, ...extra });
    const options = {
      width: element.clientWidth,
      height: HEIGHT,
      title: label,
      series: [
        {},
        { label: "p50", stroke: cssVar("--status-healthy"), width: 2, scale: "ms", value: (_, v) => fmtMs(v) },
        { label: "p95", stroke: cssVar("--status-degraded"), width: 2, scale: "ms", value: (_, v) => fmtMs(v) },
        { label: "uptime", stroke: cssVar("--accent"), dash: [4, 4], scale: "%", value: (_, v) => fmtPercent(v) },
      ],
      scales: {
        x: { time: true, range: () => [Date.now() / 1000 - seconds, Date.now() / 1000] },
        "%": { range: [0, 100] }, ms: { range: (_, low, high) => [0, Math.max(1, high ?? 1) * 1.1] } },
      axes: [
        axis({}),
        axis({ scale: "ms", label: "latency (ms)", size: 60 }),
        axis({ scale: "%", side: 1, label: "uptime (%)", grid: { show: false } }),
      ],
    };
    const data = [
      points.map((p) => Date.parse(p.at) / 1000),
      points.map((p) => p.p50LatencyMs),
      points.map((p) => p.p95LatencyMs),
      points.map((p) => p.uptimePercentage),
    ];
    const plot = new uPlot(options, data, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points, label, seconds]);
  return <div ref={box} class="chart" data-testid="latency-chart" role="img"
    aria-label={`${label}: ${points.length} points of p50 and p95 latency and uptime`} />;
}
