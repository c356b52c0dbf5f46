// One store per resource: a snapshot query, then subscription deltas; the snapshot is taken
// again after a reconnect (deltas may have been missed) and, for metrics, every few seconds.
import { signal } from "@preact/signals";
import { onReconnect, request, subscribe } from "./client.js";
import * as documents from "./documents.js";

const MAX_SERVICES = 10_000;
const METRICS_REFRESH_MS = 5_000;

/** Seconds since the epoch, ticking once a second (for "seconds since last heartbeat"). */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1_000);

// -- services ------------------------------------------------------------------------------

/** id -> service (as documents.SERVICE_FIELDS), replaced as a whole on every change. */
export const services = signal(new Map());
export const servicesLoaded = signal(false);
export const servicesError = signal("");
/** id -> time of its last status change seen live (rows flash when they change). */
export const recentlyChanged = signal(new Map());

let servicesStarted = false;
let pending = [];

export function startServices() {
  if (servicesStarted) return;
  servicesStarted = true;
  loadServices();
  subscribe(documents.STATUS_CHANGED, {}, ({ serviceStatusChanged }) =>
    queue(serviceStatusChanged),
  );
  subscribe(documents.SERVICES_CHANGED, {}, ({ servicesChanged }) =>
    servicesChanged.action === "deregistered"
      ? queue({ removed: servicesChanged.serviceId })
      : loadService(servicesChanged.serviceId),
  );
  onReconnect(loadServices);
  refreshLater();
}

// Statuses arrive live; metrics (latency, uptime) come with the snapshot, taken again every
// 5 s, or less often for big fleets: never more than 5% of the time spent waiting for it,
// so one open dashboard on 5,000 services does not keep the server busy.
let lastLoadMs = 0;
function refreshLater() {
  const wait = Math.max(METRICS_REFRESH_MS, 20 * lastLoadMs);
  setTimeout(async () => {
    if (document.visibilityState === "visible") await loadServices();
    refreshLater();
  }, wait);
}

let loading = null; // the snapshot being taken, if one is

function loadServices() {
  loading ??= takeSnapshot().finally(() => (loading = null));
  return loading;
}

async function takeSnapshot() {
  const started = performance.now();
  try {
    const data = await request(documents.SERVICES, { limit: MAX_SERVICES });
    lastLoadMs = performance.now() - started;
    services.value = new Map(data.services.map((service) => [service.id, service]));
    servicesError.value = "";
  } catch (error) {
    servicesError.value = error.message;
  } finally {
    servicesLoaded.value = true;
  }
}

/** Read one service again (after a change that is no transition, such as maintenance). */
export async function loadService(id) {
  try {
    const { service } = await request(documents.SERVICE, { id });
    if (service) queue({ service });
  } catch (error) {
    console.warn(`could not load service ${id}`, error);
  }
}

// Changes arrive in bursts (a flapping demo, a database going down with its dependents):
// they are applied together at most every FLUSH_MS, not once each. Every apply sorts and
// draws the page again: at 5,000 services and 50 changes a second, once a frame left too
// little of each frame for scrolling. A change is still on screen well within a second.
const FLUSH_MS = 100;

function queue(change) {
  if (!pending.length) setTimeout(() => requestAnimationFrame(flush), FLUSH_MS);
  pending.push(change);
}

// Changes of services not in the list yet: looked up one by one when they are few; a wave
// of them (a start, an import) is one snapshot instead of thousands of queries.
const LOOKUPS_AT_ONCE = 20;

function flush() {
  const next = new Map(services.value);
  const changed = new Map(recentlyChanged.value);
  const unknown = [];
  for (const change of pending) {
    if (change.removed) {
      next.delete(change.removed);
    } else if (change.service) {
      next.set(change.service.id, change.service);
    } else {
      const service = next.get(change.serviceId);
      if (!service) {
        unknown.push(change.serviceId);
        continue;
      }
      next.set(change.serviceId, {
        ...service,
        health: {
          ...service.health,
          status: change.current,
          since: change.at,
          reason: change.reason,
          rootCauses: change.rootCauses,
        },
      });
      changed.set(change.serviceId, Date.now());
    }
  }
  pending = [];
  services.value = next;
  recentlyChanged.value = changed;
  if (loading || unknown.length > LOOKUPS_AT_ONCE) loadServices();
  else unknown.forEach(loadService);
}

// -- events --------------------------------------------------------------------------------

/** A live list of events (newest first) for an exchange and topic pattern. */
export function eventStream({ exchange = null, pattern = null, keep = 200 }, onUpdate) {
  let events = [];
  let closed = false;
  const publish = () => !closed && onUpdate(events);
  const load = async () => {
    try {
      const data = await request(documents.EVENTS, { last: keep, exchange, pattern });
      const seen = new Set(events.map((event) => event.eventId));
      const loaded = data.events.reverse().filter((event) => !seen.has(event.eventId));
      events = [...events, ...loaded].slice(0, keep);
      publish();
    } catch (error) {
      console.warn("could not load events", error);
    }
  };
  const unsubscribe = subscribe(documents.EVENTS_LIVE, { exchange, pattern }, ({ events: e }) => {
    events = [e, ...events.filter((event) => event.eventId !== e.eventId)].slice(0, keep);
    publish();
  });
  const stopReconnect = onReconnect(load);
  load();
  return () => {
    closed = true;
    unsubscribe();
    stopReconnect();
  };
}

// -- polled: the bus status, the servers of the mesh, the day's statuses -------------------

/** A store loaded now and every `everyMs` while the page is visible, once started. */
function polled(query, field, what, everyMs = METRICS_REFRESH_MS) {
  const value = signal(null);
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    const load = () =>
      request(query)
        .then((data) => (value.value = data[field]))
        .catch((error) => console.warn(`could not load ${what}`, error));
    load();
    setInterval(() => document.visibilityState === "visible" && load(), everyMs);
  };
  return [value, start];
}

export const [busStatus, startBusStatus] = polled(
  documents.BUS_STATUS,
  "busStatus",
  "the bus status",
);
/** Where notifications go, and how delivery goes. */
export const [notificationTargets, startNotificationTargets] = polled(
  documents.NOTIFICATION_TARGETS,
  "notificationTargets",
  "the notification targets",
);
/** One server, or the replicas of a cluster, and what each checks. */
export const [cluster, startCluster] = polled(documents.CLUSTER, "cluster", "the replicas");
/** Services per status over the last 24 h (the server walks the transitions: once a minute). */
export const [statusTimeline, startStatusTimeline] = polled(
  documents.STATUS_TIMELINE,
  "statusTimeline",
  "the last 24 hours",
  60_000,
);
