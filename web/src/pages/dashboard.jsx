import { useEffect, useState } from "preact/hooks";
import { request } from "../lib/client.js";
import {
  NoServicesYet,
  STATUSES,
  Sparkline,
  StatusBadge,
  VirtualList,
  fmtMs,
  fmtPercent,
  fmtTime,
  secondsSince,
} from "../lib/components.jsx";
import { SERVICE_HISTORY } from "../lib/documents.js";
import { now, recentlyChanged, services, servicesError, servicesLoaded, startServices } from "../lib/stores.js";

const ROW_HEIGHT = 44;

export function Dashboard() {
  startServices();
  const params = new URLSearchParams(location.search);
  const [search, setSearch] = useState(params.get("search") ?? "");
  const [status, setStatus] = useState(params.get("status") ?? "");
  const [open, setOpen] = useState(null);
  useEffect(() => {
    const next = new URLSearchParams();
    if (search) next.set("search", search);
    if (status) next.set("status", status);
    history.replaceState(null, "", `${location.pathname}${next.size ? `?${next}` : ""}`);
  }, [search, status]);

  const needle = search.trim().toLowerCase();
  const shown = [...services.value.values()]
    .filter((s) => !status || s.health.status.toLowerCase() === status)
    .filter((s) => !needle || s.id.toLowerCase().includes(needle) || s.name.toLowerCase().includes(needle))
    .sort((a, b) => a.id.localeCompare(b.id));
  const nowMs = now.value;
  const flashes = recentlyChanged.value;

  return (
    <main class="dashboard">
      <div class="toolbar">
        <input type="search" placeholder="Search services" value={search} aria-label="Search services"
          onInput={(e) => setSearch(e.currentTarget.value)} />
        <select value={status} aria-label="Filter by status" onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <span class="muted" data-testid="shown-count">
          {shown.length} of {services.value.size} services
        </span>
      </div>
      {servicesError.value ? <p class="error">{servicesError.value}</p> : null}
      {servicesLoaded.value && !services.value.size ? <NoServicesYet /> : null}
      <div class="vrow header" aria-hidden="true">
        <span>Status</span><span>Service</span><span>Latency (last 64)</span>
        <span>p50 / p95</span><span>Uptime</span><span>Last heartbeat</span>
      </div>
      <VirtualList
        items={shown}
        rowHeight={ROW_HEIGHT}
        height={Math.max(240, Math.min(shown.length * ROW_HEIGHT + 2, window.innerHeight - 260))}
        keyOf={(s) => s.id}
        renderRow={(s) => {
          const m = s.health.metrics;
          const since = secondsSince(m.lastHeartbeat, nowMs);
          const flash = nowMs - (flashes.get(s.id) ?? 0) < 3000;
          return (
            <button type="button" role="listitem" data-service={s.id}
              class={`service-row${flash ? " flash" : ""}${open === s.id ? " open" : ""}`}
              onClick={() => setOpen(open === s.id ? null : s.id)}>
              <StatusBadge status={s.health.status} />
              <span class="name" title={s.name}>
                {s.id}
                {s.name !== s.id ? <span class="muted"> {s.name}</span> : null}
              </span>
              <Sparkline values={m.recentLatenciesMs} p50={m.p50LatencyMs} p95={m.p95LatencyMs} />
              <span>{fmtMs(m.p50LatencyMs)} / {fmtMs(m.p95LatencyMs)}</span>
              <span>{fmtPercent(m.uptimePercentage)}</span>
              <span>{since == null ? "never" : `${since} s ago`}</span>
            </button>
          );
        }}
      />
      {open && services.value.has(open) ? (
        <History service={services.value.get(open)} onClose={() => setOpen(null)} />
      ) : null}
    </main>
  );
}

function History({ service, onClose }) {
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    request(SERVICE_HISTORY, { id: service.id })
      .then((data) => live && setEntries(data.service?.history ?? []))
      .catch((e) => live && setError(e.message));
    return () => (live = false);
  }, [service.id, service.health.since]);
  return (
    <section class="panel history" aria-label={`History of ${service.id}`}>
      <header>
        <h2>{service.id}</h2>
        <StatusBadge status={service.health.status} />
        <span class="muted">{service.health.reason}</span>
        <button type="button" onClick={onClose}>Close</button>
      </header>
      {service.health.rootCauses.length ? (
        <p>Trouble starts at: {service.health.rootCauses.join(", ")}</p>
      ) : null}
      {error ? <p class="error">{error}</p> : null}
      {entries == null ? <p class="muted">Loading…</p> : null}
      {entries?.length === 0 ? <p class="muted">No transitions yet.</p> : null}
      <ol class="timeline">
        {(entries ?? []).map((entry) => (
          <li key={entry.at + entry.current}>
            <time>{new Date(entry.at).toLocaleString()}</time>
            <StatusBadge status={entry.previous} /> → <StatusBadge status={entry.current} />
            <span class="muted">{entry.reason}</span>
            {entry.rootCauses.length ? <span> (from {entry.rootCauses.join(", ")})</span> : null}
          </li>
        ))}
      </ol>
      <p><a href={`/dependencies?focus=${encodeURIComponent(service.id)}`}>Show in the dependency graph →</a></p>
      <p class="muted">Status since {fmtTime(service.health.since)}.</p>
    </section>
  );
}
