"""Demo mode's traces: the calls the demo services would make, as the spans an OpenTelemetry
SDK would send, so the explorer shows traffic and drift from the first minute.

The calls follow the declared edges, with the relationship the spans would show (a call
through the service mesh is an HTTP call to them), except
that one declared edge is never called (terminal-config -> rabbitmq: possibly dead) and one
call was never declared (grafana -> postgres). A call to a service whose simulated endpoint
is failing fails; its caller fails with it when the edge is hard, and also along the soft
edge reinstallation -> factory-reset, which the drift then suspects of being hard.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

from ose_mesh.demo.simulator import DEMO_PROBE_TIMEOUT, behave, load_topology
from ose_mesh.domain import DependencyType, Relationship
from ose_mesh.domain.traces import SpanFacts, SpanKind

TRAFFIC_SECONDS = 2.0
NEVER_CALLED = {("terminal-config", "rabbitmq")}
UNDECLARED = [("grafana", "postgres", "database", "hard")]
FAILS_ALONG = {("reinstallation", "factory-reset")}
_ATTRIBUTES = {  # what the client span of each relationship carries besides peer.service
    Relationship.DATABASE: {"db.system": "postgresql"},
    Relationship.CACHE: {"db.system": "redis"},
    Relationship.MESSAGE_QUEUE: {"messaging.system": "rabbitmq"},
    Relationship.ASYNC_EVENT: {"messaging.system": "rabbitmq"},
}


class DemoTraffic:
    def __init__(self, receive: Callable[[list[SpanFacts], int], None]) -> None:
        self._receive = receive
        self._started = time.monotonic()
        self._rng = random.Random()
        topology = load_topology()
        self._behaviours = {
            entry["id"]: entry["demo"]["behaviour"]
            for entry in topology["services"]
            if "demo" in entry
        }
        declared = [
            (d["source"], d["target"], d["relationship"], d["type"])
            for d in topology["dependencies"]
        ]
        self._calls = [
            call for call in declared + UNDECLARED if (call[0], call[1]) not in NEVER_CALLED
        ]

    async def tick(self) -> None:
        """A couple of seconds of calls (a job, every TRAFFIC_SECONDS)."""
        elapsed = time.monotonic() - self._started
        spans: list[SpanFacts] = []
        for caller, callee, relationship, kind in self._calls:
            down = self._down(callee, elapsed)
            fails_along = kind == DependencyType.HARD or (caller, callee) in FAILS_ALONG
            for _ in range(self._rng.randint(1, 6)):
                spans += self._call(caller, callee, Relationship(relationship), down, fails_along)
        self._receive(spans, 0)

    def _down(self, service: str, elapsed: float) -> bool:
        behaviour = self._behaviours.get(service)
        if behaviour is None:
            return False
        answer = behave(behaviour, elapsed, self._rng)
        return answer.status >= 500 or answer.delay_seconds >= DEMO_PROBE_TIMEOUT

    def _call(
        self, caller: str, callee: str, relationship: Relationship, down: bool, fails_along: bool
    ) -> list[SpanFacts]:
        """The caller's server span and its client span; for an event, the producer span
        and the consumer span it caused (a pair, met by span ids)."""
        trace, entry, call = os.urandom(16), os.urandom(8), os.urandom(8)
        latency = self._rng.lognormvariate(2.5, 0.6)  # a few to a few dozen ms
        handled = SpanFacts(
            caller, SpanKind.SERVER, trace, entry, b"", b"", latency + 2, down and fails_along, {}
        )
        if relationship is Relationship.ASYNC_EVENT and callee in self._behaviours:
            broker = {"messaging.system": "rabbitmq"}
            if callee != "rabbitmq":
                consumed = SpanFacts(
                    callee,
                    SpanKind.CONSUMER,
                    trace,
                    os.urandom(8),
                    call,
                    b"",
                    latency,
                    down,
                    broker,
                )
                produced = SpanFacts(
                    caller, SpanKind.PRODUCER, trace, call, entry, b"", 1.0, down, broker
                )
                return [consumed, produced, handled]
            return [
                SpanFacts(caller, SpanKind.PRODUCER, trace, call, entry, b"", 1.0, down, broker)
            ]
        attributes = {"peer.service": callee, **_ATTRIBUTES.get(relationship, {})}
        client = SpanFacts(
            caller, SpanKind.CLIENT, trace, call, entry, b"", latency, down, attributes
        )
        return [client, handled]
