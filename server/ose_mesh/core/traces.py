"""Dependencies observed in traces: spans in, caller -> callee edges with traffic out.

How a span names its callee, most trusted first:
1. `peer.service` on a client, producer or consumer span;
2. `server.address` when it is a registered service's id, check host or URL host (or the
   first label of such a host name: `orders-db.internal` -> `orders-db`);
3. the server or consumer span whose parent is the client or producer span (a span pair);
4. when no pair turns up within PAIR_SECONDS, `server.address` as it is, or for a broker
   the system's name (`messaging.system`). Database and cache calls take the address or
   `db.system` at once: those servers send no spans to pair with.

A producer -> consumer pair is an `async_event` edge between the two services; a producer or
consumer naming its broker is a `message_queue` edge to the broker.

Memory is bounded: at most `max_edges` edges and `max_services` services (what comes after is
counted as dropped), and the halves waiting for their pair expire after PAIR_SECONDS, at most
MAX_WAITING of them. Figures are per replica; `absorb` adds up what the others wrote.

In a cluster the two halves of a call may reach different replicas. A half that has to wait
is sent to its trace's home replica (by a hash of the trace id, over the shards), so both
halves of every call meet there.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from ose_mesh.core.traffic import NO_TOTALS, Totals, Traffic
from ose_mesh.domain import Relationship, Service
from ose_mesh.domain.traces import SpanFacts, SpanKind, call_of, observed_name

PAIR_SECONDS = 30.0
MAX_WAITING = 100_000
REHOME_SECONDS = 3.0  # a half waiting this long looks again for its trace's home
MAX_HOPS = 2
QUIET_SECONDS = 3900.0  # an hour and a five-minute slot: no figure of the windows is left
FORGET_SECONDS = 7 * 86_400.0  # as long as the database keeps figures
MAX_FADED_PER_EDGE = 5  # quiet edges remembered: five times the edges followed
DIRECTORY_SECONDS = 10.0
# Databases and caches send no server spans: waiting for a pair would only delay the count.
_UNINSTRUMENTED = frozenset({Relationship.DATABASE, Relationship.CACHE})

EdgeKey = tuple[str, str]  # (caller, callee)
K = TypeVar("K")
V = TypeVar("V")


class _Caller(NamedTuple):
    """A client or producer span waiting for the span it caused."""

    caller: str
    relationship: Relationship
    fallback: str | None
    duration_ms: float
    error: bool
    parent_id: bytes
    trace_id: bytes
    hops: int  # how often it was sent to another replica
    at: float  # last: sweep() reads it as entry[-1]


class _Faded(NamedTuple):
    """An edge with no call left in its windows: all drift still needs of it."""

    relationship: Relationship
    first_seen: float
    last_seen: float


class _Callee(NamedTuple):
    """A server or consumer span waiting for the span that caused it."""

    callee: str
    trace_id: bytes
    hops: int
    at: float


@dataclass(slots=True)
class ObservedEdge:
    relationship: Relationship
    traffic: Traffic


@dataclass(slots=True)
class IngestStats:
    """Counters for /metrics."""

    spans: int = 0
    rejected: int = 0  # no usable service.name
    calls: int = 0
    unpaired: int = 0  # a half whose pair never came and that named nothing
    dropped: dict[str, int] = field(default_factory=lambda: {"edges": 0, "services": 0})


class ServiceDirectory:
    """Which registered service a host name in a span means (`server.address`)."""

    def __init__(self, services: Callable[[], Iterable[Service]], clock: Callable[[], float]):
        self._services = services
        self._clock = clock
        self._index: dict[str, str] = {}
        self._built_at = -DIRECTORY_SECONDS

    def find(self, address: str | None) -> str | None:
        if not address:
            return None
        if self._clock() - self._built_at >= DIRECTORY_SECONDS:
            self._build()
        address = address.lower()
        return self._index.get(address) or self._index.get(address.split(".", 1)[0])

    def _build(self) -> None:
        index: dict[str, str] = {}
        for service in self._services():
            check = service.check
            hosts = [check.host, urlsplit(check.health_url).hostname if check.health_url else None]
            for host in hosts:
                if host:
                    index.setdefault(host.lower(), service.service_id)
        for service in self._services():  # a service id wins over another's host
            index[service.service_id.lower()] = service.service_id
        self._index = index
        self._built_at = self._clock()


class TraceBook:
    def __init__(
        self,
        directory: ServiceDirectory,
        *,
        max_edges: int = 10_000,
        max_services: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self.max_edges = max_edges
        self.max_services = max_services
        self._clock = clock
        self.edges: dict[EdgeKey, ObservedEdge] = {}
        self.served: dict[str, Traffic] = {}  # per service: its server and consumer spans
        self._callers: dict[bytes, _Caller] = {}  # by the client/producer span's id
        self._callees: dict[bytes, _Callee] = {}  # by the server/consumer span's parent id
        self._failed_calls: dict[bytes, tuple[EdgeKey, float]] = {}  # by the caller's span id
        self._dirty_edges: set[EdgeKey] = set()
        self._dirty_served: set[str] = set()
        # What the other replicas wrote: replica -> key -> figures.
        self._other_edges: dict[str, dict[EdgeKey, ObservedEdge]] = {}
        self._other_served: dict[str, dict[str, Traffic]] = {}
        self.stats = IngestStats()
        # Edges and services quiet for longer than the windows: only when they were seen.
        self._faded: dict[EdgeKey, _Faded] = {}
        self._faded_served: dict[str, float] = {}
        self._faded_at = self._clock()
        # Cluster mode: where the halves of a trace meet (None: here), and those to send.
        self.home_of: Callable[[bytes], str | None] = _here
        self._homeward: dict[str, list[list[Any]]] = {}
        self._homeward_count = 0
        self._recheck: deque[tuple[str, bytes, float]] = deque(maxlen=2 * MAX_WAITING)

    # -- spans in ------------------------------------------------------------------------

    def ingest(self, spans: list[SpanFacts], rejected: int = 0) -> None:
        now = self._clock()
        self.stats.spans += len(spans)
        self.stats.rejected += rejected
        failed_here = {span.span_id: span.error for span in spans}
        for span in spans:
            if not self._see(span, now):
                continue  # a service beyond the limit: none of its spans is followed
            kind = span.kind
            if kind is SpanKind.CLIENT or kind is SpanKind.PRODUCER:
                self._caller_side(span, now, failed_here)
            elif kind is SpanKind.SERVER or kind is SpanKind.CONSUMER:
                self._callee_side(span, now)
            waiting = self._failed_calls.pop(span.span_id, None)
            if waiting is not None and span.error:
                self._propagated(waiting[0], now)

    def _see(self, span: SpanFacts, now: float) -> bool:
        """Count the span for its service; False if the service is beyond the limit."""
        traffic = self.served.get(span.service)
        if traffic is None:
            if len(self.served) >= self.max_services:
                self.stats.dropped["services"] += 1
                return False
            traffic = self.served[span.service] = Traffic(now)
        if span.kind is SpanKind.SERVER or span.kind is SpanKind.CONSUMER:
            traffic.add(now, span.duration_ms, span.error)
        else:
            traffic.last_seen = now
        self._dirty_served.add(span.service)
        return True

    def _caller_side(self, span: SpanFacts, now: float, failed_here: dict[bytes, bool]) -> None:
        call = call_of(span)
        named = call.named or self._directory.find(call.address)
        producer = span.kind is SpanKind.PRODUCER
        if producer:
            broker = named or call.fallback  # the broker itself: a message_queue edge
            if broker is not None:
                self._count(span.service, broker, call.relationship, span, now, failed_here)
            relationship, fallback = Relationship.ASYNC_EVENT, None
        elif named is not None or call.relationship in _UNINSTRUMENTED:
            name = named or call.fallback
            if name is not None:
                self._count(span.service, name, call.relationship, span, now, failed_here)
            return
        else:
            relationship, fallback = call.relationship, call.fallback
        if not span.span_id:
            return
        callee = self._callees.pop(span.span_id, None)
        if callee is not None:
            self._count(span.service, callee.callee, relationship, span, now, failed_here)
            return
        half = _Caller(
            span.service,
            relationship,
            fallback,
            span.duration_ms,
            span.error,
            span.parent_id,
            span.trace_id,
            0,
            now,
        )
        self._wait("caller", span.span_id, half)

    def _callee_side(self, span: SpanFacts, now: float) -> None:
        if span.kind is SpanKind.CONSUMER:
            call = call_of(span)
            broker = call.named or self._directory.find(call.address) or call.fallback
            if broker is not None:  # the consumer depends on its broker too
                self._count(span.service, broker, call.relationship, span, now, {})
        reference = span.parent_id or span.link_id
        if not reference:
            return
        caller = self._callers.pop(reference, None)
        if caller is not None:
            self._count_half(caller, span.service, now)
            return
        self._wait("callee", reference, _Callee(span.service, span.trace_id, 0, now))

    # -- halves waiting for their pair, here or at their trace's home (cluster mode) -----

    def _wait(self, side: str, key: bytes, half: _Caller | _Callee) -> None:
        """Keep a half until its pair comes, at the replica where the halves of its trace
        meet: both halves of a call go there, whichever replica received them."""
        home = self.home_of(half.trace_id)
        if home is not None:
            self._send_home(home, side, key, half)
        elif isinstance(half, _Caller):
            _bounded_put(self._callers, key, half, self._expire_caller)
        else:
            _bounded_put(self._callees, key, half, None)
        if self.home_of is not _here and home is None and half.hops < MAX_HOPS:
            # Replicas that disagreed on the home for a moment (shards moving) can leave
            # the two halves of a call at two replicas: each half looks again later.
            self._recheck.append((side, key, half.at))

    def _send_home(self, home: str, side: str, key: bytes, half: _Caller | _Callee) -> None:
        if self._homeward_count >= MAX_WAITING:
            self.stats.unpaired += 1
            return
        if isinstance(half, _Caller):
            # The caller's own span stays here: its failure is not followed there.
            fields = [half.caller, half.relationship.value, half.fallback, half.duration_ms]
            fields.append(half.error)
        else:
            fields = [half.callee]
        message = [side, key.hex(), half.trace_id.hex(), half.hops + 1, *fields]
        self._homeward.setdefault(home, []).append(message)
        self._homeward_count += 1

    def take_homeward(self) -> dict[str, list[list[Any]]]:
        """The halves to send, by replica (taken: the link sends them)."""
        homeward, self._homeward, self._homeward_count = self._homeward, {}, 0
        return homeward

    def receive_halves(self, halves: list[Any]) -> None:
        """Halves another replica sent here: paired with what waits here, or they wait.
        One that cannot be read (a replica of another version, mid-upgrade) is skipped
        alone."""
        now = self._clock()
        for message in halves:
            try:
                side, key, half = _half_from(message, now)
            except (ValueError, TypeError, IndexError):
                self.stats.unpaired += 1
                continue
            if isinstance(half, _Caller):
                callee = self._callees.pop(key, None)
                if callee is not None:
                    self._count_half(half, callee.callee, now)
                else:
                    self._keep(side, key, half)
            else:
                waiting = self._callers.pop(key, None)
                if waiting is not None:
                    self._count_half(waiting, half.callee, now)
                else:
                    self._keep(side, key, half)

    def _keep(self, side: str, key: bytes, half: _Caller | _Callee) -> None:
        """A half sent here waits here (it is not sent on at once: no ping-pong)."""
        if isinstance(half, _Caller):
            _bounded_put(self._callers, key, half, self._expire_caller)
        else:
            _bounded_put(self._callees, key, half, None)
        if half.hops < MAX_HOPS:
            self._recheck.append((side, key, half.at))

    def _rehome(self, now: float) -> None:
        """Send on the halves that have waited REHOME_SECONDS at a replica that is no
        longer (or was never) their trace's home."""
        while self._recheck and self._recheck[0][2] <= now - REHOME_SECONDS:
            side, key, _ = self._recheck.popleft()
            waiting: dict[bytes, Any] = self._callers if side == "caller" else self._callees
            half = waiting.get(key)
            if half is None:
                continue  # paired or expired meanwhile
            home = self.home_of(half.trace_id)
            if home is not None:
                del waiting[key]
                self._send_home(home, side, key, half)

    def _count_half(self, half: _Caller, callee: str, now: float) -> None:
        key = (half.caller, callee)
        if self._add(key, half.relationship, now, half.duration_ms, half.error) and half.error:
            self._await_caller(key, half.parent_id, now)

    def _count(
        self,
        caller: str,
        callee: str,
        relationship: Relationship,
        span: SpanFacts,
        now: float,
        failed_here: dict[bytes, bool],
    ) -> None:
        key = (caller, callee)
        if not self._add(key, relationship, now, span.duration_ms, span.error) or not span.error:
            return
        caller_failed = failed_here.get(span.parent_id)
        if caller_failed is None:
            self._await_caller(key, span.parent_id, now)
        elif caller_failed:
            self._propagated(key, now)

    def _add(
        self, key: EdgeKey, relationship: Relationship, now: float, latency: float, error: bool
    ) -> bool:
        caller, callee = key
        if caller == callee:
            return False
        edge = self.edges.get(key)
        if edge is None:
            if len(self.edges) >= self.max_edges:
                self.stats.dropped["edges"] += 1
                return False
            edge = self.edges[key] = ObservedEdge(relationship, Traffic(now))
        edge.relationship = relationship
        edge.traffic.add(now, latency, error)
        self.stats.calls += 1
        self._dirty_edges.add(key)
        return True

    def _await_caller(self, key: EdgeKey, parent_id: bytes, now: float) -> None:
        """A failed call: did the caller's own span fail too? Known when it arrives."""
        if parent_id:
            _bounded_put(self._failed_calls, parent_id, (key, now), None)

    def _propagated(self, key: EdgeKey, now: float) -> None:
        edge = self.edges.get(key)
        if edge is not None:
            edge.traffic.add_propagated(now)
            self._dirty_edges.add(key)

    # -- time passing --------------------------------------------------------------------

    def sweep(self) -> None:
        """Give up on halves whose pair did not come: a caller that named a host counts
        as a call to it, the rest is dropped. Once a minute, quiet edges fade."""
        now = self._clock()
        if now - self._faded_at >= 60:
            self._faded_at = now
            self.fade()
        self._rehome(now)
        deadline = now - PAIR_SECONDS
        for waiting in (self._callers, self._callees, self._failed_calls):
            while waiting:
                key = next(iter(waiting))
                entry = waiting[key]
                if entry[-1] > deadline:
                    break
                del waiting[key]
                if isinstance(entry, _Caller):
                    self._expire_caller(entry)

    def _expire_caller(self, half: _Caller) -> None:
        if half.fallback is None:
            self.stats.unpaired += 1
        else:
            self._count_half(half, half.fallback, self._clock())

    # -- between replicas ----------------------------------------------------------------

    def take_changed(self) -> tuple[list[tuple[EdgeKey, ObservedEdge]], list[tuple[str, Traffic]]]:
        """What changed since the last call: to be written for the other replicas."""
        edges = [(key, self.edges[key]) for key in self._dirty_edges if key in self.edges]
        served = [(name, self.served[name]) for name in self._dirty_served if name in self.served]
        self._dirty_edges.clear()
        self._dirty_served.clear()
        return edges, served

    def requeue(
        self, edges: list[tuple[EdgeKey, ObservedEdge]], served: list[tuple[str, Traffic]]
    ) -> None:
        """Changes taken that could not be written: take them again next time."""
        self._dirty_edges.update(key for key, _ in edges)
        self._dirty_served.update(name for name, _ in served)

    def absorb_edge(self, replica: str | None, key: EdgeKey, edge: ObservedEdge) -> None:
        """Figures another replica wrote (None: this one, before a restart)."""
        if replica is not None:
            self._other_edges.setdefault(replica, {})[key] = edge
        elif key not in self.edges and len(self.edges) < self.max_edges:
            self.edges[key] = edge

    def absorb_served(self, replica: str | None, service: str, traffic: Traffic) -> None:
        if replica is not None:
            self._other_served.setdefault(replica, {})[service] = traffic
        elif service not in self.served and len(self.served) < self.max_services:
            self.served[service] = traffic

    # -- reads (this replica's figures plus the others') ---------------------------------

    def edge_keys(self) -> set[EdgeKey]:
        keys = set(self.edges)
        for edges in self._other_edges.values():
            keys.update(edges)
        keys.update(self._faded)
        return keys

    def edge_figures(self, key: EdgeKey) -> EdgeFigures | None:
        found = [edges[key] for edges in self._all_edges() if key in edges]
        seen = [_Faded(e.relationship, e.traffic.first_seen, e.traffic.last_seen) for e in found]
        if key in self._faded:
            seen.append(self._faded[key])
        if not seen:
            return None
        now = self._clock()
        latest = max(seen, key=lambda edge: edge.last_seen)
        return EdgeFigures(
            relationship=latest.relationship,
            first_seen=min(edge.first_seen for edge in seen),
            last_seen=latest.last_seen,
            last_5m=_sum(edge.traffic.totals(now, 5) for edge in found),
            last_1h=_sum(edge.traffic.totals(now, 60) for edge in found),
        )

    def service_figures(self, service: str, minutes: int = 5) -> ServiceFigures | None:
        found = [served[service] for served in self._all_served() if service in served]
        seen = [traffic.last_seen for traffic in found]
        if service in self._faded_served:
            seen.append(self._faded_served[service])
        if not seen:
            return None
        now = self._clock()
        return ServiceFigures(
            last_seen=max(seen),
            recent=_sum(traffic.totals(now, minutes) for traffic in found),
        )

    # -- what has gone quiet -------------------------------------------------------------

    def fade(self) -> None:
        """Edges and services with no call left in either window keep only when they were
        seen (what drift asks), in a few dozen bytes instead of their rings; a week on,
        nothing. This replica's and those read from the others alike."""
        now = self._clock()
        quiet = now - QUIET_SECONDS
        for edges in self._all_edges():
            for key in [key for key, edge in edges.items() if edge.traffic.last_seen < quiet]:
                edge = edges.pop(key)
                self._remember(key, edge)
        for served in self._all_served():
            for name in [name for name, traffic in served.items() if traffic.last_seen < quiet]:
                last_seen = served.pop(name).last_seen
                self._faded_served[name] = max(self._faded_served.get(name, 0.0), last_seen)
        for replica in [r for r, edges in self._other_edges.items() if not edges]:
            del self._other_edges[replica]
        for replica in [r for r, served in self._other_served.items() if not served]:
            del self._other_served[replica]
        forgotten = now - FORGET_SECONDS
        self._faded = _newest(
            {key: f for key, f in self._faded.items() if f.last_seen >= forgotten},
            MAX_FADED_PER_EDGE * self.max_edges,
            lambda faded: faded.last_seen,
        )
        self._faded_served = _newest(
            {name: at for name, at in self._faded_served.items() if at >= forgotten},
            MAX_FADED_PER_EDGE * self.max_services,
            lambda at: at,
        )

    def _remember(self, key: EdgeKey, edge: ObservedEdge) -> None:
        traffic = edge.traffic
        known = self._faded.get(key)
        if known is None:
            self._faded[key] = _Faded(edge.relationship, traffic.first_seen, traffic.last_seen)
            return
        newer = traffic.last_seen >= known.last_seen
        self._faded[key] = _Faded(
            edge.relationship if newer else known.relationship,
            min(known.first_seen, traffic.first_seen),
            max(known.last_seen, traffic.last_seen),
        )

    def now(self) -> float:
        return self._clock()

    def _all_edges(self) -> Iterator[dict[EdgeKey, ObservedEdge]]:
        yield self.edges
        yield from self._other_edges.values()

    def _all_served(self) -> Iterator[dict[str, Traffic]]:
        yield self.served
        yield from self._other_served.values()


@dataclass(frozen=True, slots=True)
class EdgeFigures:
    relationship: Relationship
    first_seen: float  # Unix seconds
    last_seen: float
    last_5m: Totals
    last_1h: Totals


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    last_seen: float
    recent: Totals  # its server and consumer spans of the last minutes asked for


def _half_from(message: list[Any], now: float) -> tuple[str, bytes, _Caller | _Callee]:
    """A half as _send_home wrote it; ValueError (or TypeError) if it is not one."""
    side, key_hex, trace_hex, hops, name, *fields = message
    key, trace_id = bytes.fromhex(key_hex), bytes.fromhex(trace_hex)
    if observed_name(name) is None:
        raise ValueError(f"not a service name: {name!r}")
    if side == "callee":
        return side, key, _Callee(name, trace_id, int(hops), now)
    if side != "caller":
        raise ValueError(f"no side {side!r}")
    relationship, fallback, duration, error = fields
    caller = _Caller(
        name,
        Relationship(relationship),
        observed_name(fallback),
        float(duration),
        bool(error),
        b"",  # the caller's own span stayed where it was received
        trace_id,
        int(hops),
        now,
    )
    return side, key, caller


def _newest(items: dict[K, V], most: int, at: Callable[[V], float]) -> dict[K, V]:
    """`items`, keeping only the `most` latest seen."""
    if len(items) <= most:
        return items
    return dict(sorted(items.items(), key=lambda item: at(item[1]))[-most:])


def _here(trace_id: bytes) -> None:
    return None


def _sum(totals: Iterable[Totals]) -> Totals:
    """Added up over the replicas (one, most of the time: nothing to add)."""
    parts = list(totals)
    result = parts[0] if parts else NO_TOTALS
    for each in parts[1:]:
        result = result + each
    return result


def _bounded_put(
    waiting: dict[K, V], key: K, value: V, evicted: Callable[[V], None] | None
) -> None:
    """Insert, dropping the oldest entry when full (a dict keeps insertion order)."""
    if len(waiting) >= MAX_WAITING:
        oldest = next(iter(waiting))
        dropped = waiting.pop(oldest)
        if evicted is not None:
            evicted(dropped)
    waiting[key] = value
