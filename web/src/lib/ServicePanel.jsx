// A service's story at a glance: status and why, uptime per window, latency and uptime
// charts over 1 h / 24 h / 7 d, its last checks, its transitions, and the services it needs
// and that need it, with their statuses.
import { useEffect, useState } from "preact/hooks";
import { request } from "./client.js";
import { BeatStrip, StatusBadge, fmtPercent, fmtTime } from "./components.jsx";
import {
  CREATE_MAINTENANCE,
  END_MAINTENANCE,
  LATENCY_HISTORY,
  NEIGHBOURHOOD,
  SERVICE_CHECKS,
  SERVICE_HISTORY,
} from "./documents.js";
import { LatencyChart } from "./LatencyChart.jsx";
import { loadService, now, services } from "./stores.js";

const CHART_REFRESH_MS = 15_000;

const WINDOWS = [
  { value: "HOUR", label: "1 h", seconds: 3_600 },
  { value: "DAY", label: "24 h", seconds: 86_400 },
  { value: "WEEK", label: "7 d", seconds: 604_800 },
];

/** `query` once per change of `key`; [data, error]. The last answer stays shown until
 * the next one comes (no flicker on a refresh). */
function useQuery(query, variables, key) {
  const [state, setState] = useState([null, ""]);
  useEffect(() => {
    let live = true;
    request(query, variables)
      .then((data) => live && setState([data, ""]))
      .catch((e) => live && setState([null, e.message]));
    return () => (live = false);
  }, [key]);
  return state;
}

export function ServicePanel({ service, onClose }) {
  const id = service.id;
  const m = service.health.metrics;
  const [chartWindow, setChartWindow] = useState("HOUR");
  // The chart is drawn again every 15 s (new minutes are written); the rest follows the
  // status and the strip of checks.
  const tick = Math.floor(now.value / CHART_REFRESH_MS);
  const [chart, chartError] = useQuery(LATENCY_HISTORY, { id, window: chartWindow }, `${id}/${chartWindow}/${tick}`);
  const [checks] = useQuery(SERVICE_CHECKS, { id }, `${id}/${m.recentChecks}`);
  const [history, historyError] = useQuery(SERVICE_HISTORY, { id }, `${id}/${service.health.since}`);
  const [neighbours] = useQuery(NEIGHBOURHOOD, { id, depth: 1 }, id);
  const { label, seconds } = WINDOWS.find((w) => w.value === chartWindow);
  const points = chart?.service?.latencyHistory ?? null;

  return (
    <section class="panel history" aria-label={`History of ${id}`} data-testid="service-panel">
      <header>
        <h2>{id}</h2>
        <StatusBadge status={service.health.status} />
        <span class="muted">{service.health.reason}</span>
        <button type="button" onClick={onClose}>Close</button>
      </header>
      {service.health.rootCauses.length ? (
        <p>Trouble starts at: {service.health.rootCauses.join(", ")}</p>
      ) : null}
      <Maintenance service={service} />
      {m.certDaysLeft != null ? (
        <p class={m.certDaysLeft < 14 ? "warning" : "muted"}>
          TLS certificate: {m.certDaysLeft.toFixed(1)} days left
        </p>
      ) : null}
      <dl class="uptimes">
        <div><dt>Uptime 24 h</dt><dd>{fmtPercent(m.uptime24h)}</dd></div>
        <div><dt>7 d</dt><dd>{fmtPercent(m.uptime7d)}</dd></div>
        <div><dt>30 d</dt><dd>{fmtPercent(m.uptime30d)}</dd></div>
        <div><dt>Status since</dt><dd>{fmtTime(service.health.since)}</dd></div>
      </dl>
      <div class="toolbar" role="group" aria-label="Chart window">
        {WINDOWS.map((w) => (
          <button key={w.value} type="button" aria-pressed={w.value === chartWindow} onClick={() => setChartWindow(w.value)}>
            {w.label}
          </button>
        ))}
      </div>
      {chartError ? <p class="error">{chartError}</p> : null}
      {points == null && !chartError ? <p class="muted">Loading the chart…</p> : null}
      {points?.length === 0 ? <p class="muted">No checks stored in the last {label} yet.</p> : null}
      {points?.length ? <LatencyChart points={points} seconds={seconds} label={`Latency and uptime, last ${label}`} /> : null}
      <h3>Last checks</h3>
      <BeatStrip code={m.recentChecks} checks={checks?.service?.health.checks} />
      <div class="columns">
        <Neighbours title="Depends on" reached={neighbours?.serviceDependencies?.dependencies} />
        <Neighbours title="Needed by" reached={neighbours?.serviceDependencies?.dependents} />
      </div>
      <h3>Transitions</h3>
      {historyError ? <p class="error">{historyError}</p> : null}
      {history == null && !historyError ? <p class="muted">Loading…</p> : null}
      {history?.service?.history.length === 0 ? <p class="muted">No transitions yet.</p> : null}
      <ol class="timeline">
        {(history?.service?.history ?? []).map((entry) => (
          <li key={entry.at + entry.current}>
            <time>{new Date(entry.at).toLocaleString()}</time>
            <StatusBadge status={entry.previous} /> → <StatusBadge status={entry.current} />
            <span class="muted">{entry.reason}</span>
            {entry.rootCauses.length ? <span> (from {entry.rootCauses.join(", ")})</span> : null}
          </li>
        ))}
      </ol>
      <p><a href={`/dependencies?focus=${encodeURIComponent(id)}`}>Show in the dependency graph →</a></p>
    </section>
  );
}

const DURATIONS = [
  { minutes: 30, label: "30 min" },
  { minutes: 60, label: "1 h" },
  { minutes: 240, label: "4 h" },
  { minutes: 1440, label: "24 h" },
];

/** In maintenance: until when and why, and a button to end it. Otherwise a form to start
 * one now for a while (scheduled and weekly windows: the API or GraphiQL). */
function Maintenance({ service }) {
  const window = service.health.maintenance;
  const [minutes, setMinutes] = useState(60);
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function change(document, variables, field) {
    setBusy(true);
    setError("");
    try {
      const answer = (await request(document, variables))[field];
      if (answer.message) setError(answer.message);
      else await loadService(service.id);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  if (window) {
    return (
      <div class="maintenance" data-testid="maintenance">
        <p>
          <strong>In maintenance</strong> until {fmtTime(window.endsAt)}: {window.reason}.{" "}
          <span class="muted">Checked as usual; nobody is paged; not counted in uptime.</span>
        </p>
        <button type="button" disabled={busy} onClick={() => change(END_MAINTENANCE, { id: window.windowId }, "endMaintenanceWindow")}>
          End maintenance now
        </button>
        {error ? <p class="error" role="alert">{error}</p> : null}
      </div>
    );
  }
  const start = (event) => {
    event.preventDefault();
    const input = { reason, serviceIds: [service.id], durationMinutes: minutes, createdBy: "web console" };
    change(CREATE_MAINTENANCE, { input }, "createMaintenanceWindow");
  };
  return (
    <form class="maintenance" data-testid="maintenance" onSubmit={start}>
      <label>
        Reason <input value={reason} required maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <label>
        For{" "}
        <select value={minutes} onChange={(e) => setMinutes(Number(e.currentTarget.value))}>
          {DURATIONS.map((d) => <option key={d.minutes} value={d.minutes}>{d.label}</option>)}
        </select>
      </label>
      <button type="submit" disabled={busy || !reason.trim()}>Start maintenance</button>
      {error ? <p class="error" role="alert">{error}</p> : null}
    </form>
  );
}

function Neighbours({ title, reached }) {
  return (
    <div>
      <h3>{title}</h3>
      {reached == null ? <p class="muted">Loading…</p> : null}
      {reached?.length === 0 ? <p class="muted">Nothing.</p> : null}
      <ul class="edges">
        {(reached ?? []).map((r) => {
          const other = services.value.get(r.serviceId);
          return (
            <li key={r.serviceId}>
              {other ? <StatusBadge status={other.health.status} /> : <span class="muted">not monitored</span>}{" "}
              {r.serviceId} <span class="muted">({r.via.type.toLowerCase()}, {r.via.relationship.toLowerCase()})</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
