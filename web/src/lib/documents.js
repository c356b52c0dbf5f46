// Every GraphQL document the client sends, in one place. `npm run check` (and a test)
// validates each against schema.graphql, so a schema change that breaks the client fails CI.

const SERVICE_FIELDS = `
  id name cluster demo
  health {
    status since reason rootCauses
    inMaintenance maintenance { windowId reason endsAt }
    metrics {
      p50LatencyMs p95LatencyMs uptimePercentage uptime24h uptime7d uptime30d
      lastHeartbeat heartbeatCount certDaysLeft
      recentLatenciesMs recentChecks
    }
  }
`;

export const SERVICES = `query Services($limit: Int!) {
  services(limit: $limit) { ${SERVICE_FIELDS} }
}`;

export const SERVICE = `query Service($id: String!) {
  service(id: $id) { ${SERVICE_FIELDS} }
}`;

export const CREATE_MAINTENANCE = `mutation CreateMaintenance($input: MaintenanceWindowInput!) {
  createMaintenanceWindow(input: $input) {
    __typename
    ... on MaintenanceWindow { id }
    ... on InvalidFieldError { message }
    ... on UnavailableError { message }
  }
}`;

export const END_MAINTENANCE = `mutation EndMaintenance($id: String!) {
  endMaintenanceWindow(id: $id) {
    __typename
    ... on WindowNotFoundError { message }
    ... on InvalidFieldError { message }
    ... on UnavailableError { message }
  }
}`;

export const SERVICE_CHECKS = `query ServiceChecks($id: String!) {
  service(id: $id) { id health { checks { at outcome latencyMs message } } }
}`;

export const SERVICE_HISTORY = `query ServiceHistory($id: String!) {
  service(id: $id) { id history(limit: 50) { previous current at reason rootCauses } }
}`;

export const STATUS_CHANGED = `subscription StatusChanged {
  serviceStatusChanged { serviceId previous current at reason rootCauses }
}`;

export const SERVICES_CHANGED = `subscription ServicesChanged {
  servicesChanged { action serviceId }
}`;

export const GRAPH = `query Graph {
  dependencyGraph {
    totalServices totalDependencies hubServices isolatedServices criticalPath
    circularDependencies averageDependencies
    clusters { name services }
    services { id name status cluster monitored }
    dependencies {
      source target type declaredType relationship description origin
      traffic { ...EdgeTraffic }
    }
    observedDependencies { source target relationship origin traffic { ...EdgeTraffic } }
  }
}

fragment EdgeTraffic on EdgeTraffic {
  lastSeen
  last5m { calls rate errorRate p50Ms p95Ms }
  last1h { calls rate errorRate p50Ms p95Ms }
}`;

export const DRIFT = `query Drift($window: Int!) {
  dependencyDrift(windowMinutes: $window) {
    undeclared { edge { source target } }
    unseen { dependency { source target } lastSeen }
    suspect { dependency { source target } reason suggestedType }
  }
}`;

export const ACCEPT_OBSERVED = `mutation AcceptObserved($input: AcceptObservedInput!) {
  acceptObservedDependency(input: $input) {
    __typename
    ... on Dependency { source target declaredType }
    ... on DependencyNotFoundError { message }
    ... on InvalidFieldError { message field }
    ... on UnavailableError { message }
  }
}`;

export const GRAPH_CHANGED = `subscription GraphChanged {
  graphChanged { action version source target }
}`;

export const NEIGHBOURHOOD = `query Neighbourhood($id: String!, $depth: Int) {
  serviceDependencies(id: $id, direction: BOTH, depth: $depth) {
    serviceId
    dependencies { serviceId distance via { source target type relationship } }
    dependents { serviceId distance via { source target type relationship } }
  }
}`;

export const IMPACT = `query Impact($id: String!) {
  impact(serviceId: $id) {
    serviceId
    failed { serviceId path }
    degraded { serviceId path }
  }
}`;

export const ROOT_CAUSES = `query RootCauses { rootCauses { serviceId rootCauses } }`;

export const BUS_STATUS = `query BusStatus {
  busStatus { backend connected broker published returned refused consumed outboxBacklog }
}`;

export const NOTIFICATION_TARGETS = `query NotificationTargets {
  notificationTargets { id name kind source delivered failed lastError lastSentAt }
}`;

export const CLUSTER = `query Cluster {
  cluster { mode replicaId unownedServices replicas { id host lastSeen ownedServices this } }
}`;

export const EVENTS = `query Events($last: Int!, $exchange: String, $pattern: String) {
  events(last: $last, exchange: $exchange, pattern: $pattern) {
    eventId eventType sourceService exchange routingKey payload priority correlationId seenAt
  }
}`;

export const EVENTS_LIVE = `subscription EventsLive($exchange: String, $pattern: String) {
  events(exchange: $exchange, pattern: $pattern) {
    eventId eventType sourceService exchange routingKey payload priority correlationId seenAt
  }
}`;

export const PUBLISH = `mutation Publish($input: PublishInput!) {
  publishEvent(input: $input) {
    __typename
    ... on PublishReceipt { eventId status routingKey }
    ... on InvalidFieldError { message field }
    ... on UnknownExchangeError { message exchange }
    ... on UnavailableError { message }
  }
}`;

export const LATENCY_HISTORY = `query LatencyHistory($id: String!, $window: ChartWindow!) {
  service(id: $id) {
    id
    latencyHistory(window: $window) { at checks uptimePercentage p50LatencyMs p95LatencyMs }
  }
}`;

export const STATUS_TIMELINE = `query StatusTimeline {
  statusTimeline { at healthy degraded critical dead unknown }
}`;
