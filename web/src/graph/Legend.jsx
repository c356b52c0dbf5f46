// What the explorer's colours, rings and lines mean, drawn with the same theme colours as
// the graph (graphStyle.js); folded away in a corner of the canvas until asked for.
import { HealthStatus } from "schema-enums";

const ORDER = ["healthy", "degraded", "critical", "dead", "unknown"].filter((s) =>
  HealthStatus.includes(s),
);

function Node({ fill = "var(--status-unknown)", ring, ringWidth = 3, double = false, size = 12, dashed = false }) {
  return (
    <svg width="30" height="22" aria-hidden="true">
      {dashed ? (
        <rect x="7" y="3" width="16" height="16" rx="4" fill={fill} stroke="var(--muted)" stroke-dasharray="3 2" />
      ) : (
        <circle cx="15" cy="11" r={size / 2 + (ring ? ringWidth : 0)}
          fill={ring ?? fill} stroke={double ? "var(--bg)" : "none"} stroke-width={double ? 1 : 0} />
      )}
      {ring && !dashed ? <circle cx="15" cy="11" r={size / 2} fill={fill} /> : null}
    </svg>
  );
}

function Line({ dash = "none", width = 1.5, colour = "var(--muted)" }) {
  return (
    <svg width="38" height="12" aria-hidden="true">
      <line x1="2" y1="6" x2="28" y2="6" stroke={colour} stroke-width={width} stroke-dasharray={dash} />
      <path d="M28 2 L36 6 L28 10 Z" fill={colour} />
    </svg>
  );
}

export function Legend() {
  return (
    <details class="legend" data-testid="legend">
      <summary>Legend</summary>
      <ul>
        {ORDER.map((status) => (
          <li key={status}><Node fill={`var(--status-${status})`} /> {status}</li>
        ))}
        <li><Node dashed /> not monitored (only named by a dependency)</li>
        <li><Node ring="var(--accent)" ringWidth={4} size={16} /> where trouble starts (root cause)</li>
        <li><Node ring="var(--status-dead)" ringWidth={4} double /> fails if the chosen service fails</li>
        <li><Node ring="var(--status-degraded)" /> degrades if it fails</li>
        <li><Line width={2.5} /> hard dependency</li>
        <li><Line dash="5 3" /> soft dependency</li>
        <li><Line dash="1.5 3" /> optional dependency</li>
        <li><Line width={2.5} colour="var(--status-critical)" /> part of a cycle</li>
        <li><Line dash="1.5 3" width={2} colour="var(--observed)" /> seen in traces, not declared</li>
        <li><Line dash="2 6" width={3} /> declared, not seen in traces (Drift)</li>
        <li><Line width={4} colour="var(--status-degraded)" /> traffic contradicts its declaration (Drift)</li>
        <li><Line width={3} colour="var(--status-healthy)" />…<Line width={3} colour="var(--status-critical)" />{" "}
          error rate 0 to 20 % (Colour by errors)</li>
        <li class="muted">A → B: A depends on B</li>
      </ul>
    </details>
  );
}
