"""GET /metrics: Prometheus text, collected from live state at scrape time.

The per-service families (six lines a service) are written here, letting the event loop run
between steps (core/pacing.py): through prometheus_client's collector they held the loop
for ~500 ms at 10,000 services, on every scrape. The rest (counters, the
latency histogram) is small and comes from prometheus_client.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from ose_mesh.api.operations import Answer, Operation
from ose_mesh.core import HealthState, HeartbeatMonitor, HistoryRecorder
from ose_mesh.core.cluster_link import ClusterLink
from ose_mesh.core.notifications import NotificationCenter
from ose_mesh.core.pacing import paced
from ose_mesh.core.shards import ShardOwner
from ose_mesh.core.supervisor import Supervisor
from ose_mesh.core.traces import TraceBook
from ose_mesh.domain import HealthStatus, HeartbeatResult

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STATUS_HEADER = (
    "# HELP ose_service_status 1 for the service's current status, 0 for the others.\n"
    "# TYPE ose_service_status gauge\n"
)
METRICS = Operation(
    "GET",
    "/metrics",
    "getMetrics",
    "Prometheus metrics",
    "server",
    (Answer(200, None, "Prometheus text format", media="text/plain"),),
)
_UP_HEADER = "# HELP ose_service_up 1 when the service is alive.\n# TYPE ose_service_up gauge\n"


class MeshMetrics(Collector):
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(
        self,
        monitor: HeartbeatMonitor,
        history: HistoryRecorder,
        jobs: Supervisor,
        *,
        replica_id: str,
        shards: ShardOwner | None = None,
        link: ClusterLink | None = None,
        notifications: NotificationCenter | None = None,
        traces: TraceBook | None = None,
    ) -> None:
        self._monitor = monitor
        self._history = history
        self._jobs = jobs
        self._replica_id = replica_id
        self._shards = shards
        self._link = link
        self._notifications = notifications
        self._traces = traces
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "ose_heartbeat_latency_seconds",
            "Latency of successful heartbeats (probes and pushed beats that report it).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(self)

    def observe(self, result: HeartbeatResult) -> None:
        if result.ok and result.latency_ms is not None:
            self.latency.observe(result.latency_ms / 1000)

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._monitor.stats
        probes = CounterMetricFamily("ose_probes", "Active probes by outcome.", labels=["outcome"])
        probes.add_metric(["started"], stats.probes_started)
        probes.add_metric(["failed"], stats.probes_failed)
        probes.add_metric(["skipped"], stats.probes_skipped)
        yield probes
        yield CounterMetricFamily(
            "ose_beats_received", "Heartbeats pushed by services.", value=stats.beats_received
        )
        yield CounterMetricFamily(
            "ose_history_rows_refused",
            "History rows the database refused and that were dropped (see the log).",
            value=self._history.rows_refused,
        )
        yield CounterMetricFamily(
            "ose_history_flush_failures",
            "History flushes that failed and were retried (database unreachable).",
            value=self._history.flush_failures,
        )
        up = GaugeMetricFamily(
            "ose_job_up",
            "1 while the background job runs, 0 while it is down (one-off jobs that have"
            " finished, such as the demo's seeding, are not listed).",
            labels=["job"],
        )
        crashes = CounterMetricFamily(
            "ose_job_crashes", "Crashes of the background job (each logged).", labels=["job"]
        )
        for job in self._jobs.jobs():
            if not job.finished:
                up.add_metric([job.name], float(job.running))
            crashes.add_metric([job.name], job.crashes)
        yield up
        yield crashes
        yield from self._notified()
        yield from self._ownership()
        yield from self._traced()

    def _traced(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        if self._traces is None:
            return
        stats = self._traces.stats
        spans = CounterMetricFamily(
            "ose_trace_spans",
            "Spans received by this replica: accepted, or rejected (no usable service.name).",
            labels=["outcome"],
        )
        spans.add_metric(["accepted"], stats.spans)
        spans.add_metric(["rejected"], stats.rejected)
        yield spans
        yield CounterMetricFamily(
            "ose_trace_calls", "Calls counted on observed edges.", value=stats.calls
        )
        yield CounterMetricFamily(
            "ose_trace_unpaired",
            "Client or producer spans whose callee never showed (no pair, no address).",
            value=stats.unpaired,
        )
        dropped = CounterMetricFamily(
            "ose_trace_dropped",
            "Calls and spans dropped because the edge or service limit was reached.",
            labels=["limit"],
        )
        for limit, count in stats.dropped.items():
            dropped.add_metric([limit], count)
        yield dropped
        yield GaugeMetricFamily(
            "ose_observed_edges",
            "Edges this replica has counted calls on (its own memory).",
            value=len(self._traces.edges),
        )

    def _notified(self) -> Iterator[CounterMetricFamily]:
        if self._notifications is None:
            return
        sent = CounterMetricFamily(
            "ose_notifications",
            "Notifications by target (its name) and outcome: delivered, or failed after "
            "every retry.",
            labels=["target", "outcome"],
        )
        for target in self._notifications.targets():
            stats = self._notifications.stats_of(target.target_id)
            sent.add_metric([target.name, "delivered"], stats.delivered)
            sent.add_metric([target.name, "failed"], stats.failed)
        yield sent
        yield CounterMetricFamily(
            "ose_notifications_silenced",
            "Transitions in a maintenance window, sent to nobody.",
            value=self._notifications.silenced,
        )

    def _ownership(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """What this replica checks (a single server: everything)."""
        replica = [self._replica_id]
        owned = GaugeMetricFamily(
            "ose_replica_owned_services", "Services this replica checks.", labels=["replica"]
        )
        shards = self._shards
        owned.add_metric(replica, len(self._monitor) if shards is None else shards.owned_services())
        yield owned
        if shards is None or self._link is None:
            return
        held = GaugeMetricFamily(
            "ose_replica_shards", "Shards this replica holds.", labels=["replica"]
        )
        held.add_metric(replica, len(shards.held_shards()))
        yield held
        for name, help_text, value in (
            ("ose_shard_takeovers", "Shards this replica took over.", shards.takeovers),
            ("ose_cluster_messages_sent", "Messages sent to the other replicas.", self._link.sent),
            (
                "ose_cluster_messages_received",
                "Messages received from the other replicas.",
                self._link.received,
            ),
            (
                "ose_cluster_beats_forwarded",
                "Beats this replica passed to the owner of their service.",
                self._link.forwarded_beats,
            ),
        ):
            counter = CounterMetricFamily(name, help_text, labels=["replica"])
            counter.add_metric(replica, value)
            yield counter

    async def endpoint(self, request: Request) -> Response:
        states = tuple(self._monitor.states())
        parts = [_STATUS_HEADER]
        parts += [_status_lines(state) async for state in paced(states)]
        parts.append(_UP_HEADER)
        parts += [_up_line(state) async for state in paced(states)]
        parts.append(generate_latest(self.registry).decode())
        return Response("".join(parts), media_type=CONTENT_TYPE_LATEST)


# Service ids need no escaping in a label value: they are letters, digits, '.', '_' and '-'.
def _status_lines(state: HealthState) -> str:
    service_id, current = state.service.service_id, state.status
    return "".join(
        f'ose_service_status{{service_id="{service_id}",status="{status.value}"}} '
        f"{1.0 if status is current else 0.0}\n"
        for status in HealthStatus
    )


def _up_line(state: HealthState) -> str:
    alive = float(state.status.is_alive)
    return f'ose_service_up{{service_id="{state.service.service_id}"}} {alive}\n'
