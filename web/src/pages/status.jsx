// The public status page (/status, /status/{cluster}): what an operator shows their users.
// It reads the open /api/v1/status-page (no token, only services made public) and nothing
// else, so it works for a visitor who has no access to the console.
import { useEffect, useState } from "preact/hooks";
import { StatusBadge, fmtPercent } from "../lib/components.jsx";

const REFRESH_MS = 30_000;
const HEADLINE = {
  healthy: "All systems operational",
  degraded: "Degraded performance",
  critical: "Partial outage",
  dead: "Major outage",
  unknown: "Status not known yet",
};

/** The cluster in /status/{cluster}, or null for /status. */
export function statusCluster(path) {
  const match = /^\/status\/([^/]+)$/.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}

export function StatusPage({ cluster }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const url = `/api/v1/status-page${cluster == null ? "" : `/${encodeURIComponent(cluster)}`}`;
    const load = async () => {
      try {
        const answer = await fetch(url, { headers: { Accept: "application/json" } });
        const body = await answer.json();
        if (!answer.ok) throw new Error(body.detail ?? `HTTP ${answer.status}`);
        setPage(body);
        setError("");
      } catch (e) {
        setError(e.message);
      }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [cluster]);

  const title = cluster == null ? "Service status" : `${cluster}: service status`;
  document.title = title;
  return (
    <main class="status-page">
      <h1>{title}</h1>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {page == null && !error ? <p class="muted">Loading…</p> : null}
      {page ? <StatusContent page={page} /> : null}
    </main>
  );
}

function StatusContent({ page }) {
  const overall = page.overall_status;
  return (
    <>
      <p class={`headline status-${overall}`} data-testid="headline">
        <StatusBadge status={overall} /> {HEADLINE[overall]}
      </p>
      <section aria-labelledby="incidents-title">
        <h2 id="incidents-title">Ongoing incidents</h2>
        {page.incidents.length ? (
          <ul class="incidents">
            {page.incidents.map((incident) => (
              <li key={incident.service_id}>
                <strong>{incident.service_name}</strong> <StatusBadge status={incident.status} />{" "}
                <span class="muted">since {new Date(incident.since).toLocaleString()}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">None.</p>
        )}
      </section>
      {page.services.some((s) => s.maintenance_until) ? (
        <section aria-labelledby="maintenance-title">
          <h2 id="maintenance-title">Planned maintenance</h2>
          <ul class="incidents">
            {page.services.filter((s) => s.maintenance_until).map((service) => (
              <li key={service.service_id}>
                <strong>{service.service_name}</strong>{" "}
                <span class="muted">until {new Date(service.maintenance_until).toLocaleString()}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="services-title">
        <h2 id="services-title">Services: uptime over the last 90 days</h2>
        {page.services.length ? null : <p class="muted">No service is shown on this page yet.</p>}
        <ul class="public-services">
          {page.services.map((service) => (
            <PublicService key={service.service_id} service={service} firstDay={page.first_day} />
          ))}
        </ul>
      </section>
      <p class="muted">Updated {new Date(page.generated_at).toLocaleTimeString()}; refreshed every 30 s.</p>
    </>
  );
}

function PublicService({ service, firstDay }) {
  const start = Date.parse(`${firstDay}T00:00:00Z`);
  return (
    <li data-service={service.service_id}>
      <div class="public-service-head">
        <strong>{service.service_name}</strong>
        {service.maintenance_until ? <span class="maintenance-mark">under maintenance</span> : <StatusBadge status={service.status} />}
        <span class="muted">{fmtPercent(service.uptime_percentage)} uptime</span>
      </div>
      <div class="uptime-bars" role="img"
        aria-label={`Uptime per day of ${service.service_name}: ${fmtPercent(service.uptime_percentage)} over 90 days`}>
        {service.daily_uptime.map((uptime, day) => {
          const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10);
          return (
            <span key={date} class={`day ${dayClass(uptime)}`}
              title={`${date}: ${uptime == null ? "no checks" : fmtPercent(uptime)}`} />
          );
        })}
      </div>
      <div class="uptime-axis muted" aria-hidden="true"><span>90 days ago</span><span>today</span></div>
    </li>
  );
}

function dayClass(uptime) {
  if (uptime == null) return "day-none";
  if (uptime >= 99.9) return "day-good";
  if (uptime >= 99) return "day-fair";
  if (uptime >= 95) return "day-poor";
  return "day-bad";
}
