"""GET /metrics: Prometheus text, collected from live state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from ose_mesh.core import HeartbeatMonitor, HistoryRecorder
from ose_mesh.domain import HealthStatus, HeartbeatResult

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class MeshMetrics(Collector):
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, monitor: HeartbeatMonitor, history: HistoryRecorder) -> None:
        self._monitor = monitor
        self._history = history
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

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = GaugeMetricFamily(
            "ose_service_status",
            "1 for the service's current status, 0 for the others.",
            labels=["service_id", "status"],
        )
        up = GaugeMetricFamily(
            "ose_service_up", "1 when the service is alive.", labels=["service_id"]
        )
        for state in self._monitor.states():
            service_id = state.service.service_id
            for candidate in HealthStatus:
                status.add_metric([service_id, candidate.value], float(state.status is candidate))
            up.add_metric([service_id], float(state.status.is_alive))
        yield status
        yield up
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

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
