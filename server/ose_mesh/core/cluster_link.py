"""What replicas tell each other, over RabbitMQ (the `ose.cluster` exchange).

Each replica has a queue of its own, bound for messages to all (`all`) and to it alone
(`replica.{id}`). Messages are JSON objects; `properties.type` says what they are:

- `transition`: a service's owner made a transition. The others hand it to their
  subscribers once and in order: each carries (epoch, n) and a receiver drops what is not
  newer than the last it passed on (a new owner's epoch is higher than the former's);
- `states`: the owners' recent snapshots (metrics), every STATE_FLUSH_SECONDS;
- `service`, `dependency`: a row changed; the receiver reads it back from the database
  (the database, not the message, is the truth, so messages in any order end alike); a
  `dependency` without ends is an import: the receiver compares everything;
- `left`: a replica stopped and gave its shards back; the others take them now;
- `beats`: beats for services the receiver owns (a batch); it answers to `reply_to`;
- `halves`: halves of span pairs whose trace's home is the receiver (core/traces.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from ose_mesh.core.broker import Broker, Delivery, ExchangeType, Properties
from ose_mesh.core.dependencies import DependencyService
from ose_mesh.core.hub import OWN_STATUS, STATUS, EventHub
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.notifications import NotificationCenter
from ose_mesh.core.ports import BeatReceipt
from ose_mesh.core.registry import ServiceRegistry
from ose_mesh.core.shards import ShardOwner
from ose_mesh.core.traces import TraceBook
from ose_mesh.domain import (
    DomainError,
    HealthStatus,
    InvalidField,
    ServiceNotFound,
    StatusChange,
    Unavailable,
)

log = logging.getLogger(__name__)

CLUSTER = "ose.cluster"
ALL = "all"
BEAT_TIMEOUT_SECONDS = 2.0
HALVES_SECONDS = 0.2


class OwnerUnreachable(Unavailable):
    """The replica owning a service did not answer a forwarded beat in time."""

    def __init__(self, service_id: str, why: str) -> None:
        super().__init__(f"The replica that checks {service_id} cannot be reached ({why}).")


class ClusterLink:
    def __init__(
        self,
        broker: Broker,
        owner: ShardOwner,
        monitor: HeartbeatMonitor,
        hub: EventHub,
    ) -> None:
        self._broker = broker
        self._owner = owner
        self._monitor = monitor
        self._hub = hub
        self._me = owner.identity.replica_id
        # Its own name per process: a restarted replica whose former connection RabbitMQ
        # has not yet seen die (a crashed host) would be locked out of an exclusive queue
        # of the same name until the broker's heartbeat timeout.
        self._queue = f"{CLUSTER}.{self._me}.{uuid.uuid4().hex[:8]}"
        self._registry: ServiceRegistry | None = None
        self._dependencies: DependencyService | None = None
        self._maintenance: MaintenanceSchedule | None = None
        self._notifications: NotificationCenter | None = None
        self._traces: TraceBook | None = None
        self._passed_on: dict[str, tuple[int, int]] = {}  # service -> last (epoch, n) passed on
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # Beats waiting to go to each owner: (beat, where its answer goes).
        self._outgoing: dict[str, list[tuple[list[Any], asyncio.Future[dict[str, Any]]]]] = {}
        self._background: set[asyncio.Task[bool]] = set()
        self.attached = False
        self.sent = 0
        self.received = 0
        self.forwarded_beats = 0

    def serve(
        self,
        registry: ServiceRegistry,
        dependencies: DependencyService,
        maintenance: MaintenanceSchedule | None = None,
        notifications: NotificationCenter | None = None,
        traces: TraceBook | None = None,
    ) -> None:
        """What the messages act on (built after the link: they tell it their changes)."""
        self._registry = registry
        self._dependencies = dependencies
        self._maintenance = maintenance
        self._notifications = notifications
        self._traces = traces
        if traces is not None:
            traces.home_of = self.home_of_trace

    def home_of_trace(self, trace_id: bytes) -> str | None:
        """The replica where the halves of this trace's span pairs meet (None: here).
        Traces are spread over the shards like services, by a hash of their id."""
        home = self._owner.owner_of(trace_id.hex())
        return None if home is None or home == self._me else home

    async def send_halves(self) -> None:
        """Send the span halves waiting to go to their trace's home (a job, every
        HALVES_SECONDS: one message per home replica)."""
        if self._traces is None:
            return
        for home, halves in self._traces.take_homeward().items():
            await self._send("halves", {"halves": halves}, to=f"replica.{home}")

    async def attach(self) -> None:
        """Declare the exchange and this replica's queue, and consume it (on every
        (re)connection of the bus)."""
        self.attached = False
        await self._broker.declare_exchange(CLUSTER, ExchangeType.DIRECT, durable=True)
        await self._broker.declare_queue(
            self._queue, durable=False, exclusive=True, auto_delete=True
        )
        await self._broker.bind(self._queue, CLUSTER, ALL)
        await self._broker.bind(self._queue, CLUSTER, f"replica.{self._me}")
        await self._broker.consume(self._queue, self._on_delivery, prefetch=200)
        self.attached = True

    # -- telling the others (ChangeFeed) -------------------------------------------------

    def service_changed(self, service_id: str) -> None:
        self._send_later("service", {"service_id": service_id})

    def dependency_changed(self, source: str | None, target: str | None) -> None:
        self._send_later("dependency", {"source": source, "target": target})

    def settings_changed(self) -> None:
        """Maintenance windows or notification targets changed: the others read them."""
        self._send_later("settings", {})

    async def tell_left(self) -> None:
        await self._send("left", {})

    async def forward_transitions(self) -> None:
        """Send every transition this replica makes, with the service's state (a job)."""
        subscription = self._hub.subscribe(OWN_STATUS, size=100_000)
        try:
            async for change in subscription:
                self._owner.state_changed()
                service_id = change.service_id
                if service_id not in self._monitor:
                    continue
                await self._send(
                    "transition",
                    {
                        "change": _change_json(change),
                        "epoch": self._owner.epoch_of(service_id),
                        "n": self._monitor.state(service_id).transitions,
                        "snapshot": self._monitor.snapshot(service_id),
                    },
                )
        finally:
            subscription.close()

    async def send_states(self, changed: list[tuple[str, dict[str, Any]]]) -> None:
        if changed:
            await self._send("states", {"states": changed})

    def _send_later(self, kind: str, body: dict[str, Any]) -> None:
        self._in_background(self._send(kind, body))

    def _in_background(self, work: Coroutine[Any, Any, bool]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(_settled)
        task.add_done_callback(self._background.discard)

    async def _send(
        self, kind: str, body: dict[str, Any], *, to: str = ALL, **properties: Any
    ) -> bool:
        """Publish to the others; False (logged) when the broker is away: what a missed
        change message leaves behind, the reconcile job repairs."""
        if not self.attached:
            return False  # not connected yet, or reconnecting: the reconcile job catches up
        payload = json.dumps({"from": self._me, **body}).encode()
        try:
            await self._broker.publish(
                CLUSTER, to, payload, Properties(type=kind, **properties), mandatory=False
            )
        except (DomainError, OSError, ConnectionError) as exc:
            log.warning("could not tell the other replicas (%s): %s", kind, exc)
            return False
        self.sent += 1
        return True

    # -- beats for services another replica owns (BeatRouter) -----------------------------

    async def forward(
        self, service_id: str, ok: bool, latency_ms: float | None, message: str | None
    ) -> BeatReceipt:
        """Send the beat to its service's owner and return the owner's answer. Beats for
        one owner that arrive together travel as one message (a batch per turn of the
        event loop): one publish and one confirm for many, not one each."""
        owner = self._owner.owner_of(service_id)
        if owner is None or owner == self._me:
            raise OwnerUnreachable(service_id, "no replica holds it right now")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        batch = self._outgoing.setdefault(owner, [])
        if not batch:
            asyncio.get_running_loop().call_soon(self._send_beats, owner)
        batch.append(([service_id, ok, latency_ms, message], answer))
        try:
            async with asyncio.timeout(BEAT_TIMEOUT_SECONDS):
                found = await answer
        except TimeoutError:
            why = f"no answer within {BEAT_TIMEOUT_SECONDS:g}s"
            raise OwnerUnreachable(service_id, why) from None
        if "error" in found:
            if found["error"] == "not_found":
                raise ServiceNotFound(service_id)
            if found["error"] == "invalid":
                raise InvalidField("message", str(found["detail"]))
            raise OwnerUnreachable(service_id, found["error"])
        self.forwarded_beats += 1
        return BeatReceipt(HealthStatus(found["status"]), int(found["heartbeat_count"]))

    def _send_beats(self, owner: str) -> None:
        batch = self._outgoing.pop(owner, [])
        if batch:
            self._in_background(self._send_batch(owner, batch))

    async def _send_batch(
        self, owner: str, batch: list[tuple[list[Any], asyncio.Future[dict[str, Any]]]]
    ) -> bool:
        correlation_id = uuid.uuid4().hex
        replies: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[correlation_id] = replies
        try:
            sent = await self._send(
                "beats",
                {"beats": [beat for beat, _ in batch]},
                to=f"replica.{owner}",
                correlation_id=correlation_id,
                reply_to=self._queue,
            )
            if not sent:
                _answer_all(batch, {"error": "the message bus is away"})
                return False
            async with asyncio.timeout(BEAT_TIMEOUT_SECONDS):
                answers = (await replies)["answers"]
        except TimeoutError:
            return False  # each waiting beat times out on its own
        finally:
            self._replies.pop(correlation_id, None)
        for (_, waiting), found in zip(batch, answers, strict=False):
            if not waiting.done():
                waiting.set_result(found)
        return True

    # -- receiving -----------------------------------------------------------------------

    async def _on_delivery(self, delivery: Delivery) -> None:
        await delivery.ack()  # what is lost here, the reconcile job and the next state repair
        try:
            body = json.loads(delivery.body)
        except ValueError:
            log.warning("ignoring a malformed cluster message")
            return
        if not isinstance(body, dict) or body.get("from") == self._me:
            return
        self.received += 1
        handler = self._handlers().get(delivery.properties.type or "")
        if handler is None:
            return
        try:
            await handler(body, delivery.properties)
        except (DomainError, KeyError, TypeError, ValueError) as exc:
            log.warning("could not act on a %s message: %s", delivery.properties.type, exc)

    def _handlers(
        self,
    ) -> dict[str, Callable[[dict[str, Any], Properties], Awaitable[None]]]:
        return {
            "transition": self._on_transition,
            "states": self._on_states,
            "service": self._on_service,
            "dependency": self._on_dependency,
            "settings": self._on_settings,
            "left": self._on_left,
            "beats": self._on_beats,
            "beats.reply": self._on_reply,
            "halves": self._on_halves,
        }

    async def _on_transition(self, body: dict[str, Any], _: Properties) -> None:
        change = _change_from_json(body["change"])
        order = (int(body["epoch"]), int(body["n"]))
        service_id = change.service_id
        if order <= self._passed_on.get(service_id, (-1, -1)):
            return  # already passed on (or older than what was)
        self._passed_on[service_id] = order
        self._monitor.mirror(service_id, body["snapshot"])
        self._hub.publish(STATUS, change)

    async def _on_states(self, body: dict[str, Any], _: Properties) -> None:
        for service_id, snapshot in body["states"]:
            self._monitor.mirror(service_id, snapshot)

    async def _on_service(self, body: dict[str, Any], _: Properties) -> None:
        if self._registry is not None:
            await self._registry.refresh(str(body["service_id"]))

    async def _on_dependency(self, body: dict[str, Any], _: Properties) -> None:
        if self._dependencies is None:
            return
        source, target = body.get("source"), body.get("target")
        if source is None or target is None:  # an import: services and edges
            if self._registry is not None:
                await self._registry.reconcile()
            await self._dependencies.reconcile()
        else:
            await self._dependencies.refresh(str(source), str(target))

    async def _on_settings(self, body: dict[str, Any], _: Properties) -> None:
        if self._maintenance is not None:
            await self._maintenance.refresh()
        if self._notifications is not None:
            await self._notifications.refresh()

    async def _on_left(self, body: dict[str, Any], _: Properties) -> None:
        self._owner.nudge()

    async def _on_beats(self, body: dict[str, Any], properties: Properties) -> None:
        # A service registered through another replica a moment ago may not have reached
        # this one yet (its news is on the way): it is read from the database first, as a
        # beat arriving here directly would be, so that it is counted, not refused.
        unknown = {str(beat[0]) for beat in body["beats"] if beat[0] not in self._monitor}
        unreadable = set()
        if self._registry is not None:
            for service_id in unknown:
                try:
                    await self._registry.require(service_id)
                except ServiceNotFound:
                    pass  # answered not_found below
                except Unavailable:
                    unreadable.add(service_id)  # a 503 for the sender, not a wrong 404
        answers = [
            {"error": "its database cannot be reached"}
            if beat[0] in unreadable
            else self._count(*beat)
            for beat in body["beats"]
        ]
        if properties.reply_to:
            # Answered in the background: waiting here for the broker's confirm would
            # hold the next batch back.
            payload = json.dumps({"from": self._me, "answers": answers}).encode()
            reply = Properties(type="beats.reply", correlation_id=properties.correlation_id)
            self._in_background(self._broker.publish("", properties.reply_to, payload, reply))

    def _count(
        self, service_id: str, ok: bool, latency_ms: float | None, message: str | None
    ) -> dict[str, Any]:
        """One forwarded beat, counted here if this replica owns its service."""
        if service_id not in self._monitor:
            return {"error": "not_found"}
        if not self._monitor.owns(service_id):
            return {"error": "it is moving to another replica"}
        try:
            state = self._monitor.record_beat(
                service_id, ok=bool(ok), latency_ms=latency_ms, message=message
            )
        except DomainError as exc:  # a message the database could not store
            return {"error": "invalid", "detail": exc.message}
        return {"status": state.status.value, "heartbeat_count": state.heartbeat_count}

    async def _on_halves(self, body: dict[str, Any], _: Properties) -> None:
        if self._traces is not None:
            self._traces.receive_halves(list(body["halves"]))

    async def _on_reply(self, body: dict[str, Any], properties: Properties) -> None:
        future = self._replies.get(properties.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(body)


def _answer_all(
    batch: list[tuple[list[Any], asyncio.Future[dict[str, Any]]]], answer: dict[str, Any]
) -> None:
    for _, waiting in batch:
        if not waiting.done():
            waiting.set_result(answer)


def _settled(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("could not answer another replica: %s", error)


def _change_json(change: StatusChange) -> dict[str, Any]:
    return {
        "service_id": change.service_id,
        "previous": change.previous.value,
        "current": change.current.value,
        "at": change.at.isoformat(),
        "reason": change.reason,
        "root_causes": list(change.root_causes),
        "in_maintenance": change.in_maintenance,
    }


def _change_from_json(data: dict[str, Any]) -> StatusChange:
    return StatusChange(
        service_id=str(data["service_id"]),
        previous=HealthStatus(data["previous"]),
        current=HealthStatus(data["current"]),
        at=datetime.fromisoformat(data["at"]),
        reason=str(data["reason"]),
        root_causes=tuple(str(cause) for cause in data["root_causes"]),
        in_maintenance=bool(data.get("in_maintenance", False)),
    )
