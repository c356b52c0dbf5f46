// Placeholder dashboard: polls the REST status every 2 s. The reactive client replaces it.
// Server data only ever reaches the page through textContent, never innerHTML.
const rows = document.getElementById("rows");

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(statuses) {
  const services = Object.values(statuses);
  const counts = {};
  for (const s of services) counts[s.status] = (counts[s.status] || 0) + 1;
  document.getElementById("summary").textContent = `${services.length} services — ` +
    Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
  document.getElementById("empty").hidden = services.length > 0;
  document.getElementById("demo-banner").hidden = !services.some((s) => s.demo);
  rows.replaceChildren(...services.map((s) => {
    const tr = document.createElement("tr");
    const name = cell(`${s.service_name} (${s.service_id})`);
    const status = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `status ${s.status}`;
    badge.textContent = s.status;
    status.append(badge);
    const m = s.metrics;
    const latency = m.p50_latency_ms == null ? "—" : `${m.p50_latency_ms} / ${m.p95_latency_ms} ms`;
    const last = m.seconds_since_last == null ? "never" : `${m.seconds_since_last.toFixed(1)} s ago`;
    const causes = s.root_causes.length ? ` — root cause: ${s.root_causes.join(", ")}` : "";
    tr.append(name, status, cell(latency), cell(`${m.uptime_percentage}%`), cell(last), cell(s.reason + causes, "why"));
    return tr;
  }));
}

async function refresh() {
  try {
    const response = await fetch("/api/v1/heartbeat/status");
    render(await response.json());
  } catch (error) {
    document.getElementById("summary").textContent = `Disconnected: ${error}`;
  }
}

refresh();
setInterval(refresh, 2000);
