import { useEffect, useState } from "preact/hooks";
import { StatusChart } from "../lib/StatusChart.jsx";
import {
  NoServicesYet,
  STATUSES,
  StatusBadge,
  fmtTime,
} from "../lib/components.jsx";
import {
  busStatus,
  cluster,
  eventStream,
  notificationTargets,
  services,
  servicesLoaded,
  startBusStatus,
  startCluster,
  startNotificationTargets,
  startServices,
  startStatusTimeline,
  statusTimeline,
} from "../lib/stores.js";

export function Overview() {
  startServices();
  startBusStatus();
  startCluster();
  startNotificationTargets();
  const all = [...services.value.values()];
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const service of all) counts[service.health.status.toLowerCase()] += 1;
  const attention = all
    .filter((service) => !["HEALTHY", "UNKNOWN"].includes(service.health.status))
    .sort((a, b) => severity(b) - severity(a) || a.id.localeCompare(b.id));
  return (
    <main class="overview">
      <section class="counts" aria-label="Services by status">
        <a class="count total" href="/heartbeat-dashboard">
          <strong>{all.length}</strong> services
        </a>
        {STATUSES.map((status) => (
          <a key={status} class={`count status-${status}`}
            href={`/heartbeat-dashboard?status=${status}`}>
            <strong>{counts[status]}</strong> {status}
          </a>
        ))}
      </section>
      <nav class="quick-links" aria-label="Go to">
        <a href="/heartbeat-dashboard">Heartbeat dashboard</a>
        <a href="/dependencies">Dependency explorer</a>
        <a href="/events">Events and publishing</a>
        <a href="/status">Public status page</a>
        <a href="/graphql">GraphiQL</a>
        <a href="/api/docs">REST API docs</a>
        <a href="/metrics">Prometheus metrics</a>
      </nav>
      {servicesLoaded.value && !all.length ? <NoServicesYet /> : null}
      <div class="overview-grid">
        <section class="panel attention-panel">
          <h2>Needs attention</h2>
          {attention.length ? (
            <ul class="attention">
              {attention.slice(0, 50).map((service) => (
                <li key={service.id}>
                  <StatusBadge status={service.health.status} />
                  <a href={`/dependencies?focus=${encodeURIComponent(service.id)}`}>{service.id}</a>
                  <span class="muted">{service.health.reason}</span>
                  {service.health.rootCauses.length ? (
                    <span class="causes">
                      trouble starts at {service.health.rootCauses.join(", ")}
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">{all.length ? "Every service is healthy or not checked yet." : ""}</p>
          )}
        </section>
        <section class="panel timeline-panel">
          <h2>The last 24 hours</h2>
          <Timeline />
        </section>
        <section class="panel">
          <h2>Recent events</h2>
          <RecentEvents />
          <p><a href="/events">All events →</a></p>
        </section>
        <section class="panel">
          <h2>Event bus</h2>
          <BusPanel status={busStatus.value} />
        </section>
        <section class="panel">
          <h2>Servers</h2>
          <ClusterPanel cluster={cluster.value} />
        </section>
        <section class="panel">
          <h2>Notifications</h2>
          <NotificationsPanel targets={notificationTargets.value} />
        </section>
      </div>
    </main>
  );
}

function Timeline() {
  startStatusTimeline();
  const points = statusTimeline.value;
  if (!points) return <p class="muted">Loading…</p>;
  return <StatusChart points={points} />;
}

const SEVERITY = { DEAD: 3, CRITICAL: 2, DEGRADED: 1 };
const severity = (service) => SEVERITY[service.health.status] ?? 0;

function RecentEvents() {
  const [events, setEvents] = useState([]);
  useEffect(() => eventStream({ keep: 10 }, setEvents), []);
  if (!events.length) return <p class="muted">No events yet.</p>;
  return (
    <ul class="events-mini">
      {events.map((event) => (
        <li key={event.eventId} title={`${event.eventType} (${event.routingKey})`}>
          <span class="muted">{fmtTime(event.seenAt)}</span> <code>{event.routingKey}</code>
        </li>
      ))}
    </ul>
  );
}

function ClusterPanel({ cluster }) {
  if (!cluster) return <p class="muted">Loading…</p>;
  const mode = cluster.mode === "cluster" ? `${cluster.replicas.length} replicas` : "one server";
  return (
    <>
      <p class="muted">
        {mode}
        {cluster.unownedServices ? `, ${cluster.unownedServices} services being taken over` : ""}
      </p>
      <ul class="replicas" data-testid="replicas">
        {cluster.replicas.map((replica) => (
          <li key={replica.id}>
            <code>{replica.id}</code>
            {replica.this ? " (this one)" : ""}: {replica.ownedServices}{" "}
            {replica.ownedServices === 1 ? "service" : "services"}
            <span class="muted"> · seen {fmtTime(replica.lastSeen)}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

function NotificationsPanel({ targets }) {
  if (!targets) return <p class="muted">Loading…</p>;
  if (!targets.length) {
    return <p class="muted">No target yet: add Apprise URLs over the API or in OSE_MESH_NOTIFY_FILE.</p>;
  }
  return (
    <ul class="replicas" data-testid="notification-targets">
      {targets.map((target) => (
        <li key={target.id}>
          <strong>{target.name}</strong> <span class="muted">({target.kind})</span>: {target.delivered} sent
          {target.failed ? <span class="error"> · {target.failed} failed: {target.lastError}</span> : null}
          {target.lastSentAt ? <span class="muted"> · last {fmtTime(target.lastSentAt)}</span> : null}
        </li>
      ))}
    </ul>
  );
}

function BusPanel({ status }) {
  if (!status) return <p class="muted">Loading…</p>;
  return (
    <dl class="facts">
      <dt>Backend</dt>
      <dd>{status.backend} ({status.connected ? "connected" : "not connected"})</dd>
      <dt>Broker</dt>
      <dd>{status.broker}</dd>
      <dt>Published</dt>
      <dd>{status.published}</dd>
      <dt>Consumed</dt>
      <dd>{status.consumed}</dd>
      <dt>Waiting in the outbox</dt>
      <dd>{status.outboxBacklog}</dd>
    </dl>
  );
}
