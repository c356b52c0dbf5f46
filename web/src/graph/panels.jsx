// What the explorer shows beside the graph: a node's tooltip and its details panel.
import { useState } from "preact/hooks";
import { DependencyType } from "schema-enums";
import { request } from "../lib/client.js";
import { StatusBadge, fmtMs, fmtPercent } from "../lib/components.jsx";
import { ACCEPT_OBSERVED } from "../lib/documents.js";
import { services } from "../lib/stores.js";
import { OBSERVED } from "./elements.js";

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
  const how = edge.relationship.replace("_", " ");
  return (
    <div class="tooltip" style={{ left: `${x + 12}px`, top: `${y + 12}px` }} role="tooltip"
      data-testid="edge-tooltip">
      <strong>{edge.source} → {edge.target}</strong>
      {edge.origin === OBSERVED
        ? <span>seen in traces, not declared: {how}</span>
        : <span>{edge.source} depends on {edge.target}: {edge.type}, {how}</span>}
      {edge.description ? <span class="muted">{edge.description}</span> : null}
      <TrafficLine edge={edge} />
    </div>
  );
}

function TrafficLine({ edge }) {
  if (edge.errorRate < 0) return <span class="muted">not seen in traces</span>;
  if (!edge.calls) return <span class="muted">no call in the last hour; last seen {fmtTime(edge.lastSeen)}</span>;
  return (
    <span data-testid="edge-traffic">
      {fmtRate(edge.rate)}, {fmtPercent(100 * edge.errorRate)} errors, p50 {fmtMs(edge.p50)} / p95{" "}
      {fmtMs(edge.p95)} <span class="muted">(last {edge.window})</span>
    </span>
  );
}

const fmtRate = (rate) => `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} calls/s`;
const fmtTime = (at) => (at ? new Date(at).toLocaleString() : "never");

export function Details({ id, graph, onImpact, onClose }) {
  const service = services.value.get(id);
  const needs = graph.dependencies.filter((d) => d.source === id);
  const neededBy = graph.dependencies.filter((d) => d.target === id);
  const undeclared = (graph.observedDependencies ?? []).filter((d) => d.source === id || d.target === id);
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
      {undeclared.length ? (
        <>
          <h3>Seen in traces, not declared ({undeclared.length})</h3>
          <ul class="edges" data-testid="undeclared">
            {undeclared.slice(0, 50).map((d) => <Undeclared key={`${d.source}->${d.target}`} edge={d} />)}
          </ul>
        </>
      ) : null}
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

/** An edge seen in traces, with what declaring it takes: a type, and one click. */
function Undeclared({ edge }) {
  const [type, setType] = useState("hard");
  const [state, setState] = useState("");
  const declare = async () => {
    setState("declaring…");
    try {
      const input = { source: edge.source, target: edge.target, type: type.toUpperCase() };
      const answer = (await request(ACCEPT_OBSERVED, { input })).acceptObservedDependency;
      setState(answer.__typename === "Dependency" ? "declared" : answer.message);
    } catch (e) {
      setState(e.message);
    }
  };
  return (
    <li class="accept">
      <span>{edge.source} → {edge.target}</span>
      <span class="muted">{edge.relationship.toLowerCase()}</span>
      <select aria-label={`Type to declare ${edge.source} → ${edge.target} as`} value={type}
        onChange={(e) => setType(e.currentTarget.value)}>
        {DependencyType.map((t) => <option key={t} value={t}>{t}</option>)}
      </select>
      <button type="button" onClick={declare}>Declare</button>
      {state ? <span class="muted" role="status">{state}</span> : null}
    </li>
  );
}
