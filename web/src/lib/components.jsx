// Small pieces shared by the pages. Every text goes through Preact, which escapes it: a
// service named <img onerror=…> is shown as those characters, never parsed as HTML.
import { useEffect, useRef, useState } from "preact/hooks";
import { HealthStatus } from "schema-enums";
import { connection, needsToken, saveToken } from "./client.js";

/** Every status, as the schema lists them, "unknown" last (it says least). */
export const STATUSES = [...HealthStatus.filter((s) => s !== "unknown"), "unknown"];

export function StatusBadge({ status }) {
  const name = String(status).toLowerCase();
  return (
    <span class={`badge status-${name}`}>
      <span class="dot" aria-hidden="true" />
      {name}
    </span>
  );
}

export function ConnectionIndicator() {
  const state = connection.value;
  const text = { live: "Live", connecting: "Connecting…", offline: "Offline, retrying…" }[state];
  return (
    <span class={`connection connection-${state}`} role="status" title="Live updates">
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** Latencies as a line, with p50 and p95 as dashed levels. */
export function Sparkline({ values, p50, p95, width = 120, height = 28 }) {
  if (!values?.length) return <span class="muted">no samples</span>;
  const top = Math.max(...values, p95 ?? 0) || 1;
  const x = (i) => (values.length === 1 ? width / 2 : (i / (values.length - 1)) * (width - 2) + 1);
  const y = (v) => height - 2 - (v / top) * (height - 4);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return (
    <svg class="sparkline" width={width} height={height} role="img"
      aria-label={`latency p50 ${fmtMs(p50)}, p95 ${fmtMs(p95)}`}>
      {p95 != null && <line class="p95" x1="0" x2={width} y1={y(p95)} y2={y(p95)} />}
      {p50 != null && <line class="p50" x1="0" x2={width} y1={y(p50)} y2={y(p50)} />}
      <polyline points={points} />
    </svg>
  );
}

const STRIP_LENGTH = 32; // what the server keeps (core/health_state.py)
const BEAT_CLASS = { "+": "beat-ok", "-": "beat-failed", x: "beat-none" };
const BEAT_WORD = { "+": "succeeded", "-": "failed", x: "no answer" };
const OUTCOME_CODE = { OK: "+", FAILED: "-", NO_ANSWER: "x" };

/** The codes ("+", "-", "x") of checks as the API details them. */
export function checksCode(checks) {
  return checks.map((check) => OUTCOME_CODE[check.outcome]).join("");
}

function describeCheck(check) {
  const parts = [new Date(check.at).toLocaleString(), BEAT_WORD[OUTCOME_CODE[check.outcome]]];
  if (check.latencyMs != null) parts.push(fmtMs(check.latencyMs));
  if (check.message) parts.push(check.message);
  return parts.join(" · ");
}

/** The last checks as a strip of beats, newest on the right (like Uptime Kuma's beat bar).
 * `code` has one character per check; `checks`, when loaded for the same code, give each
 * beat its time, latency and message on hover. */
export function BeatStrip({ code, checks, onHover }) {
  if (!code) return <span class="muted beats-empty">no checks yet</span>;
  const detailed = checks && checksCode(checks) === code ? checks : null;
  const failed = [...code].filter((c) => c !== "+").length;
  const padding = Math.max(0, STRIP_LENGTH - code.length);
  return (
    <span class="beats" role="img" data-testid="beats" onMouseEnter={onHover}
      aria-label={`last ${code.length} checks: ${code.length - failed} succeeded, ${failed} did not`}>
      {Array.from({ length: padding }, (_, i) => <span key={`pad${i}`} class="beat beat-empty" />)}
      {[...code].map((c, i) => (
        <span key={i} class={`beat ${BEAT_CLASS[c] ?? "beat-ok"}`}
          title={detailed ? describeCheck(detailed[i]) : BEAT_WORD[c]} />
      ))}
    </span>
  );
}

// Preact 11 does not add "px" to numbers in styles: every length below is a string.

/** Only the rows in view are in the DOM, so 5,000 services scroll like 50. Rows have one
 * fixed height; an open row (its history) is drawn below the list, not inside it. */
export function VirtualList({ items, rowHeight, height, renderRow, keyOf }) {
  const box = useRef(null);
  const [top, setTop] = useState(0);
  useEffect(() => {
    const element = box.current;
    const onScroll = () => setTop(element.scrollTop);
    element.addEventListener("scroll", onScroll, { passive: true });
    return () => element.removeEventListener("scroll", onScroll);
  }, []);
  const overscan = 8;
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={keyOf(items[i])} class="vrow" style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {renderRow(items[i], i)}
      </div>,
    );
  }
  return (
    <div ref={box} class="vlist" style={{ height: `${height}px` }} role="list">
      <div style={{ height: `${items.length * rowHeight}px`, position: "relative" }}>{rows}</div>
    </div>
  );
}

export function EmptyState({ title, children }) {
  return (
    <div class="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function NoServicesYet() {
  return (
    <EmptyState title="No services yet">
      <p>Register one, load a catalog, or start the demo:</p>
      <pre>{`curl -X POST http://${location.host}/api/v1/heartbeat/register \\
  -H 'content-type: application/json' \\
  -d '{"service_id": "payments", "health_url": "http://127.0.0.1:9000/health"}'

ose-mesh init --catalog catalog.yaml
ose-mesh serve --demo`}</pre>
    </EmptyState>
  );
}

/** A theme colour (CSS custom property), as the charts need it (they draw on a canvas). */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function fmtMs(value) {
  return value == null ? "–" : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function fmtPercent(value) {
  return value == null ? "–" : `${value.toFixed(value >= 99.95 || value === 0 ? 0 : 2)} %`;
}

export function secondsSince(iso, nowMs) {
  if (!iso) return null;
  return Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
}

export function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "–";
}

/** Asks for a token when the server refused us without one (tokens are configured). */
export function TokenPrompt() {
  const [token, setToken] = useState("");
  if (!needsToken.value) return null;
  return (
    <form class="panel token-prompt" role="dialog" aria-label="Token needed"
      onSubmit={(event) => { event.preventDefault(); if (token.trim()) saveToken(token); }}>
      <h2>This server needs a token</h2>
      <p class="muted">Ask its operator for a read token (to watch) or a write token (to change
        things). It is kept in this browser tab until you close the browser.</p>
      <input type="password" aria-label="Token" autocomplete="off" value={token}
        onInput={(event) => setToken(event.currentTarget.value)} />
      <button type="submit">Use this token</button>
    </form>
  );
}
