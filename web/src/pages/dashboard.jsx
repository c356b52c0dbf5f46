import { useEffect, useState } from "preact/hooks";
import { request } from "../lib/client.js";
import {
  BeatStrip,
  NoServicesYet,
  STATUSES,
  StatusBadge,
  checksCode,
  VirtualList,
  fmtMs,
  fmtPercent,
  secondsSince,
} from "../lib/components.jsx";
import { SERVICE_CHECKS } from "../lib/documents.js";
import { ServicePanel } from "../lib/ServicePanel.jsx";
import { now, recentlyChanged, services, servicesError, servicesLoaded, startServices } from "../lib/stores.js";

const ROW_HEIGHT = 44;
// At phone width a row is a card of three lines: status and name, the strip, the figures.
const CARD_HEIGHT = 92;
const NARROW = "(max-width: 700px)";

// The worst first: what needs someone comes before what is fine.
const SEVERITY = { DEAD: 0, CRITICAL: 1, DEGRADED: 2, UNKNOWN: 3, HEALTHY: 4 };

// Sortable columns: what each compares, and which way it starts (the worrying end first).
// Missing values (never checked) sort last either way.
const COLUMNS = {
  status: { label: "Status", value: (s) => SEVERITY[s.health.status] ?? 5, first: "asc" },
  name: { label: "Service", value: (s) => s.id, first: "asc" },
  latency: { label: "p50 / p95", value: (s) => s.health.metrics.p50LatencyMs, first: "desc" },
  uptime: { label: "Uptime", value: (s) => s.health.metrics.uptimePercentage, first: "asc" },
  heartbeat: {
    label: "Last heartbeat",
    value: (s) => Date.parse(s.health.metrics.lastHeartbeat ?? "") || null,
    first: "asc",
  },
};

function compare(column, direction) {
  const { value } = COLUMNS[column];
  const sign = direction === "desc" ? -1 : 1;
  return (a, b) => {
    const x = value(a);
    const y = value(b);
    if (x !== y) {
      if (x == null) return 1;
      if (y == null) return -1;
      return sign * (typeof x === "string" ? x.localeCompare(y) : x - y);
    }
    return a.id.localeCompare(b.id);
  };
}

function useNarrow() {
  const [narrow, setNarrow] = useState(() => matchMedia(NARROW).matches);
  useEffect(() => {
    const query = matchMedia(NARROW);
    const changed = () => setNarrow(query.matches);
    query.addEventListener("change", changed);
    return () => query.removeEventListener("change", changed);
  }, []);
  return narrow;
}

export function Dashboard() {
  startServices();
  const rowHeight = useNarrow() ? CARD_HEIGHT : ROW_HEIGHT;
  const params = new URLSearchParams(location.search);
  const [search, setSearch] = useState(params.get("search") ?? "");
  const [status, setStatus] = useState(params.get("status") ?? "");
  const [sort, setSort] = useState(COLUMNS[params.get("sort")] ? params.get("sort") : "status");
  const [direction, setDirection] = useState(
    ["asc", "desc"].includes(params.get("dir")) ? params.get("dir") : COLUMNS[sort].first,
  );
  const [open, setOpen] = useState(null);
  const [checks, setChecks] = useState({}); // id -> its last checks, loaded on hover
  const loadChecks = (id) =>
    request(SERVICE_CHECKS, { id })
      .then((data) => data.service && setChecks((all) => ({ ...all, [id]: data.service.health.checks })))
      .catch((e) => console.warn(`could not load the checks of ${id}`, e));
  useEffect(() => {
    const next = new URLSearchParams();
    if (search) next.set("search", search);
    if (status) next.set("status", status);
    if (sort !== "status" || direction !== "asc") {
      next.set("sort", sort);
      next.set("dir", direction);
    }
    history.replaceState(null, "", `${location.pathname}${next.size ? `?${next}` : ""}`);
  }, [search, status, sort, direction]);

  const sortBy = (column) => {
    if (column === sort) {
      setDirection(direction === "asc" ? "desc" : "asc");
    } else {
      setSort(column);
      setDirection(COLUMNS[column].first);
    }
  };
  const needle = search.trim().toLowerCase();
  const shown = [...services.value.values()]
    .filter((s) => !status || s.health.status.toLowerCase() === status)
    .filter((s) => !needle || s.id.toLowerCase().includes(needle) || s.name.toLowerCase().includes(needle))
    .sort(compare(sort, direction));
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
      <div class="vrow header" data-testid="columns">
        <SortButton column="status" sort={sort} direction={direction} onSort={sortBy} />
        <SortButton column="name" sort={sort} direction={direction} onSort={sortBy} />
        <span class="header-only">Last checks</span>
        <SortButton column="latency" sort={sort} direction={direction} onSort={sortBy} />
        <SortButton column="uptime" sort={sort} direction={direction} onSort={sortBy} />
        <SortButton column="heartbeat" sort={sort} direction={direction} onSort={sortBy} />
      </div>
      <VirtualList
        items={shown}
        rowHeight={rowHeight}
        height={Math.max(rowHeight + 2, Math.min(shown.length * rowHeight + 2, window.innerHeight - 260))}
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
                {s.health.inMaintenance ? (
                  <span class="maintenance-mark" title={`In maintenance: ${s.health.maintenance?.reason ?? ""}`}> in maintenance</span>
                ) : null}
              </span>
              <BeatStrip code={m.recentChecks} checks={checks[s.id]}
                onHover={() => checksCode(checks[s.id] ?? []) !== m.recentChecks && loadChecks(s.id)} />
              <span class="latency" title="p50 / p95 latency">{fmtMs(m.p50LatencyMs)} / {fmtMs(m.p95LatencyMs)}</span>
              <span class="uptime" title="Uptime">{fmtPercent(m.uptimePercentage)}</span>
              <span class="last-beat" title="Last heartbeat">{since == null ? "never" : `${since} s ago`}</span>
            </button>
          );
        }}
      />
      {open && services.value.has(open) ? (
        <ServicePanel service={services.value.get(open)} onClose={() => setOpen(null)} />
      ) : null}
    </main>
  );
}

function SortButton({ column, sort, direction, onSort }) {
  const active = column === sort;
  const label = COLUMNS[column].label;
  const state = active ? `sorted ${direction === "asc" ? "ascending" : "descending"}` : "not sorted";
  return (
    <button type="button" class={`sort${active ? " active" : ""}`} data-sort={column}
      aria-label={`${label}: ${state}; sort by it`} onClick={() => onSort(column)}>
      {label}
      {active ? (direction === "asc" ? " ▲" : " ▼") : ""}
    </button>
  );
}
