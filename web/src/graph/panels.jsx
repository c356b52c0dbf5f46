// What the explorer shows beside the graph: a node's tooltip and its details panel.
import { StatusBadge, fmtMs, fmtPercent } from "../lib/components.jsx";
import { services } from "../lib/stores.js";

export function Tooltip({ id, edge, x, y }) {
  if (edge) return <EdgeTooltip edge={edge} x={x} y={y} />;
  const service = services.value.get(id);
  return (
    <div class="tooltip" style={{ left: `${x + 12}px`, top: `${y + 12}px` }} role="tooltip">
      <strong>{id}</strong>
      {service ? <StatusBadge status={service.health.status} /> : <span class="muted"> not monitored</span>}
      {service?.health.reason ? <div class="muted">{service.health.reason}</div> : null}
    </div>
  );
}

function EdgeTooltip({ edge, x, y }) {
  return (
    <div class="tooltip" style={{ left: `${x + 12}px`, top: `${y + 12}px` }} role="tooltip"
      data-testid="edge-tooltip">
      <strong>{edge.source} → {edge.target}</strong>
      <span>{edge.source} depends on {edge.target}: {edge.type}, {edge.relationship.replace("_", " ")}</span>
      {edge.description ? <span class="muted">{edge.description}</span> : null}
    </div>
  );
}

export function Details({ id, graph, onImpact, onClose }) {
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
