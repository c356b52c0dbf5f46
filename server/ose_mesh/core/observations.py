"""The use cases of traces: receive spans, show observed edges beside the declared ones
(drift), accept an observed edge as declared, and judge a service by its server spans.

Each replica counts the spans it receives and writes its figures every SYNC_SECONDS; every
replica reads what the others wrote, so the figures shown are the sum over the cluster. A
lone server does the same with itself only, and after a restart finds what it wrote before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ose_mesh.core.graph_model import EdgeTraffic, EdgeView, ObservedEdgeView, TrafficWindow
from ose_mesh.core.monitor import TRACES_PREFIX
from ose_mesh.core.pacing import paced
from ose_mesh.core.ports import ProbeOutcome, StoredTraffic, TrafficRepository
from ose_mesh.core.traces import EdgeFigures, EdgeKey, ObservedEdge, TraceBook
from ose_mesh.core.traffic import Totals, Traffic
from ose_mesh.domain import (
    Dependency,
    DependencyType,
    DomainError,
    ObservedEdgeNotFound,
    Relationship,
    Service,
)
from ose_mesh.domain.service import DEFAULT_TRACE_ERROR_PERCENT
from ose_mesh.domain.traces import SpanFacts

log = logging.getLogger(__name__)

SYNC_SECONDS = 5.0
READ_MARGIN = timedelta(seconds=10)
KEEP = timedelta(days=7)  # figures nobody wrote for a week are deleted
MAX_WINDOW_MINUTES = 7 * 24 * 60
HEALTH_MINUTES = 2  # a traces check reads the spans of the last two minutes
RECENTLY_SEEN_SECONDS = 3600.0  # silence means dead only for a service seen this recently
# Type suspicion: enough failed calls, and the caller failing with most of them.
SUSPICION_MIN_FAILED = 5
SUSPICION_SHARE = 0.5
# What spans can tell apart: a call through a service mesh is an HTTP or gRPC call to
# them, and an event is a message through a broker.
_FAMILIES = {
    Relationship.SYNC_API: "call",
    Relationship.SERVICE_MESH: "call",
    Relationship.ASYNC_EVENT: "message",
    Relationship.MESSAGE_QUEUE: "message",
    Relationship.DATABASE: "database",
    Relationship.CACHE: "cache",
}


@dataclass(frozen=True, slots=True)
class UndeclaredEdge:
    edge: ObservedEdgeView
    source_registered: bool
    target_registered: bool


@dataclass(frozen=True, slots=True)
class UnseenEdge:
    dependency: Dependency
    last_seen: datetime | None  # None: never, while its source was seen


@dataclass(frozen=True, slots=True)
class SuspectEdge:
    dependency: Dependency
    traffic: EdgeTraffic
    reason: str
    suggested_type: DependencyType | None
    observed_relationship: Relationship


@dataclass(frozen=True, slots=True)
class Drift:
    window_minutes: int
    undeclared: list[UndeclaredEdge]
    unseen: list[UnseenEdge]
    suspect: list[SuspectEdge]


class Observations:
    def __init__(
        self,
        book: TraceBook,
        repository: TrafficRepository,
        replica_id: str,
        *,
        declared: Callable[[], list[Dependency]],
        registered: Callable[[str], bool],
        declare: Callable[[Dependency], Awaitable[tuple[EdgeView, bool]]],
        in_graph: Callable[[str], bool] | None = None,
    ) -> None:
        """`registered`: a registered service; `in_graph`: a node of the graph (also the
        services only named by declared edges), which observed edges can be drawn to."""
        self.book = book
        self._repository = repository
        self._replica_id = replica_id
        self._declared = declared
        self._registered = registered
        self._in_graph = in_graph or registered
        self._declare = declare
        self._read_until: datetime | None = None
        self._pruned_at: datetime | None = None
        self._absorbed: dict[tuple[str, str, str, str], datetime] = {}  # row -> its time

    def receive(self, spans: list[SpanFacts], rejected: int) -> None:
        self.book.ingest(spans, rejected)

    # -- the figures of every replica ----------------------------------------------------

    async def sync(self) -> None:
        """Write what changed here, read what the others wrote, drop week-old figures."""
        self.book.sweep()
        now = datetime.now(UTC)
        edges, served = self.book.take_changed()
        # Compressing 10,000 edges' rings takes ~0.1 s: off the event loop (each ring is
        # copied in one step, so a call counted meanwhile is in it or in the next write).
        rows = await asyncio.to_thread(self._rows, edges, served, now)
        try:
            await self._repository.save_traffic(rows)
            # A row is stamped by its writer's clock before it commits: what commits after
            # the last read may carry an earlier time, and replicas' clocks differ a little
            # (they must agree within a second or so anyway: the shard leases need it).
            if self._read_until is None:  # the first time: everything, this replica's too
                rows_read = await self._repository.traffic_since(None, None)
            else:
                since = self._read_until - READ_MARGIN
                rows_read = await self._repository.traffic_since(since, self._replica_id)
            fresh = [
                row for row in rows_read if self._absorbed.get(_row_key(row)) != row.updated_at
            ]
            decoded = await asyncio.to_thread(_decoded, fresh)
            for row, traffic in decoded:
                self._absorb(row, traffic)
            self._read_until = now
            if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
                await self._repository.prune_traffic(now - KEEP)
                self._absorbed = {k: t for k, t in self._absorbed.items() if t >= now - KEEP}
                self._pruned_at = now
        except DomainError as exc:
            self.book.requeue(edges, served)  # written next time
            log.warning("could not share the traffic figures: %s", exc.message)

    def _rows(
        self,
        edges: list[tuple[EdgeKey, ObservedEdge]],
        served: list[tuple[str, Traffic]],
        now: datetime,
    ) -> list[StoredTraffic]:
        me = self._replica_id
        return [
            StoredTraffic(
                me, "call", source, target, edge.relationship.value, edge.traffic.to_bytes(), now
            )
            for (source, target), edge in edges
        ] + [
            StoredTraffic(me, "served", service, "", "", traffic.to_bytes(), now)
            for service, traffic in served
        ]

    def _absorb(self, row: StoredTraffic, traffic: Traffic | None) -> None:
        """Another replica's figures; this replica's own, written before it restarted
        (under the same --replica-id), become where its counting goes on."""
        self._absorbed[_row_key(row)] = row.updated_at  # read again in the margin: skipped
        if traffic is None:
            return  # written by a version with another layout
        replica = None if row.replica_id == self._replica_id else row.replica_id
        if row.kind == "served":
            self.book.absorb_served(replica, row.source, traffic)
        elif row.relationship in Relationship._value2member_map_:
            edge = ObservedEdge(Relationship(row.relationship), traffic)
            self.book.absorb_edge(replica, (row.source, row.target), edge)

    # -- reads ---------------------------------------------------------------------------
    # Figures are added up from the rings of every replica: ~40 µs an edge. Reads of many
    # edges are paced (core/pacing.py), so 10,000 edges never hold the event loop.

    def traffic(self, source: str, target: str) -> EdgeTraffic | None:
        figures = self.book.edge_figures((source, target))
        return None if figures is None else _edge_traffic(figures)

    async def traffic_of(self, keys: Iterable[EdgeKey]) -> dict[EdgeKey, EdgeTraffic]:
        """What traces show of each of these edges (those they show)."""
        seen = self.book.edge_keys()
        found = {}
        async for key in paced([key for key in keys if key in seen]):
            traffic = self.traffic(*key)
            if traffic is not None:
                found[key] = traffic
        return found

    async def observed_only(self, declared: set[EdgeKey]) -> list[ObservedEdgeView]:
        """Edges seen and not declared between two nodes of the graph."""
        keys = [
            key
            for key in sorted(self.book.edge_keys() - declared)
            if self._in_graph(key[0]) and self._in_graph(key[1])
        ]
        return [
            ObservedEdgeView(source, target, traffic)
            for (source, target), traffic in (await self.traffic_of(keys)).items()
        ]

    async def drift(self, window_minutes: int) -> Drift:
        horizon = datetime.now(UTC) - timedelta(minutes=window_minutes)
        declared = {d.key: d for d in self._declared()}
        undeclared_keys = sorted(self.book.edge_keys() - set(declared))
        undeclared = [
            UndeclaredEdge(
                ObservedEdgeView(source, target, traffic),
                self._registered(source),
                self._registered(target),
            )
            for (source, target), traffic in (await self.traffic_of(undeclared_keys)).items()
            if traffic.last_seen >= horizon
        ]
        traffics = await self.traffic_of(sorted(declared))
        unseen, suspect = [], []
        for key, dependency in sorted(declared.items()):
            traffic = traffics.get(key)
            if traffic is None or traffic.last_seen < horizon:
                if self._seen_since(dependency.source, horizon):
                    last_seen = None if traffic is None else traffic.last_seen
                    unseen.append(UnseenEdge(dependency, last_seen))
                continue
            suspicion = _suspicion(dependency, traffic)
            if suspicion is not None:
                reason, suggested = suspicion
                suspect.append(
                    SuspectEdge(dependency, traffic, reason, suggested, traffic.relationship)
                )
        return Drift(window_minutes, undeclared, unseen, suspect)

    def _seen_since(self, service_id: str, horizon: datetime) -> bool:
        figures = self.book.service_figures(service_id)
        return figures is not None and _at(figures.last_seen) >= horizon

    async def accept(
        self,
        source: str,
        target: str,
        type_: DependencyType,
        relationship: Relationship | None,
        description: str | None,
    ) -> tuple[EdgeView, bool]:
        """Declare an observed edge, with the relationship the spans show unless given."""
        traffic = self.traffic(source, target)
        if traffic is None:
            raise ObservedEdgeNotFound(source, target)
        dependency = Dependency(
            source, target, type_, relationship or traffic.relationship, description
        )
        return await self._declare(dependency)

    # -- health from traffic -------------------------------------------------------------

    def judge(self, service: Service) -> ProbeOutcome | None:
        """A `traces` check: None while the service has sent no span (it stays unknown)."""
        figures = self.book.service_figures(service.service_id, HEALTH_MINUTES)
        if figures is None:
            return None
        silent = self.book.now() - figures.last_seen
        if silent >= service.check.timeout_seconds:
            if silent > RECENTLY_SEEN_SECONDS:
                return None
            return ProbeOutcome(
                False, 0.0, f"{TRACES_PREFIX}no spans for {silent:.0f}s", answered=False
            )
        totals = figures.recent
        if not totals.calls:
            return ProbeOutcome(True, 0.0, f"{TRACES_PREFIX}spans seen, no server spans")
        threshold = service.check.trace_error_percent or DEFAULT_TRACE_ERROR_PERCENT
        share = 100 * totals.error_rate
        words = (
            f"{TRACES_PREFIX}{share:.0f}% of {totals.calls} server spans failed "
            f"in the last {HEALTH_MINUTES} minutes"
        )
        latency = totals.percentile(0.5) or 0.0
        if share > threshold:
            return ProbeOutcome(False, latency, f"{words}, over {threshold:g}%")
        return ProbeOutcome(True, latency, words)


def _row_key(row: StoredTraffic) -> tuple[str, str, str, str]:
    return (row.replica_id, row.kind, row.source, row.target)


def _decoded(rows: list[StoredTraffic]) -> list[tuple[StoredTraffic, Traffic | None]]:
    return [(row, Traffic.from_bytes(row.figures)) for row in rows]


def _suspicion(
    dependency: Dependency, traffic: EdgeTraffic
) -> tuple[str, DependencyType | None] | None:
    """Why the traffic contradicts the declaration, and the type it suggests, if it does."""
    hour = traffic.last_1h
    if (
        dependency.type is not DependencyType.HARD
        and hour.failed_calls >= SUSPICION_MIN_FAILED
        and hour.propagated >= SUSPICION_SHARE * hour.failed_calls
    ):
        reason = (
            f"declared {dependency.type.value}, but the caller failed with "
            f"{hour.propagated} of the {hour.failed_calls} failed calls in the last hour"
        )
        return reason, DependencyType.HARD
    if _FAMILIES[traffic.relationship] != _FAMILIES[dependency.relationship]:
        reason = (
            f"declared {dependency.relationship.value}, "
            f"but the spans show {traffic.relationship.value}"
        )
        return reason, None
    return None


def _edge_traffic(figures: EdgeFigures) -> EdgeTraffic:
    return EdgeTraffic(
        relationship=figures.relationship,
        first_seen=_at(figures.first_seen),
        last_seen=_at(figures.last_seen),
        last_5m=_window(figures.last_5m),
        last_1h=_window(figures.last_1h),
    )


def _window(totals: Totals) -> TrafficWindow:
    return TrafficWindow(
        calls=totals.calls,
        rate=round(totals.rate, 3),
        error_rate=round(totals.error_rate, 4),
        p50_ms=totals.percentile(0.5),
        p95_ms=totals.percentile(0.95),
        failed_calls=totals.errors,
        propagated=totals.propagated,
    )


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
