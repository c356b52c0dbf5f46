"""Registering, updating and removing services: stored first, then watched.

A change is validated completely, then written to the database, and only then applied in
memory, so a rejected or failed request leaves both exactly as they were. Changes to one
service id take turns (a lock per id): concurrent requests cannot interleave between the
database write and the memory update, so both always agree, and of many concurrent
registrations of a new id exactly one creates it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields, replace
from typing import Any

from ose_mesh.core.graph import DependencyGraph
from ose_mesh.core.history import HistoryRecorder
from ose_mesh.core.hub import REGISTRY, EventHub
from ose_mesh.core.keyed_locks import KeyedLocks
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import (
    BeatReceipt,
    BeatRouter,
    ChangeFeed,
    Clock,
    HistoryRepository,
    ServiceRepository,
)
from ose_mesh.domain import (
    CheckConfig,
    CheckType,
    HttpAssertions,
    InvalidField,
    Service,
    ServiceNotFound,
    validate_service_id,
)
from ose_mesh.domain.labels import as_labels


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What a caller sends to register or update a service; None keeps the current value
    (or takes the default for a new service)."""

    service_id: str
    service_name: str | None = None
    check_type: CheckType | None = None
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    max_failures: int | None = None
    probe_timeout_seconds: float | None = None
    recovery_successes: int | None = None
    latency_threshold_ms: float | None = None
    health_url: str | None = None
    host: str | None = None
    port: int | None = None
    grpc_service: str | None = None
    tls: bool | None = None
    cert_expiry_days: int | None = None
    assertions: HttpAssertions | None = None  # HttpAssertions() removes them
    trace_error_percent: float | None = None
    cluster: str | None = None
    public: bool | None = None
    labels: dict[str, str] | None = None  # replaces the service's labels when given


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    action: str  # "registered", "updated" or "deregistered"
    service_id: str


_CHECK_FIELDS = tuple(f.name for f in fields(CheckConfig))
# Options of one kind of check, dropped when an update changes the kind without giving them.
_KIND_OPTIONS = {
    "grpc_service": None,
    "tls": False,
    "assertions": None,
    "trace_error_percent": None,
}


class ServiceRegistry:
    def __init__(
        self,
        repository: ServiceRepository,
        history_repository: HistoryRepository,
        monitor: HeartbeatMonitor,
        history: HistoryRecorder,
        hub: EventHub,
        clock: Clock,
        defaults: CheckConfig,
        graph: DependencyGraph,
        *,
        feed: ChangeFeed | None = None,
        beats: BeatRouter | None = None,
    ) -> None:
        """`feed` tells the other replicas about every change (cluster mode); `beats`
        sends a beat for a service another replica owns to that replica."""
        self._repository = repository
        self._history_repository = history_repository
        self._monitor = monitor
        self._history = history
        self._hub = hub
        self._clock = clock
        self._defaults = defaults
        self._graph = graph
        self._locks = KeyedLocks()
        self._feed = feed
        self._beats = beats
        self._versions: dict[str, int] = {}  # row versions read back from the database

    def changing(self, *service_ids: str) -> AbstractAsyncContextManager[None]:
        """Hold while changing these services (prepare, store, apply), so no other change
        to them interleaves."""
        return self._locks.hold(*service_ids)

    async def register(self, spec: ServiceSpec, *, demo: bool = False) -> tuple[Service, bool]:
        """Create the service, or update it if the id is known. Returns (service, created)."""
        async with self.changing(spec.service_id):
            service, created = self.prepare(spec, demo=demo)
            await self._repository.upsert_service(service)
            self.apply(service, created)
        return service, created

    def prepare(self, spec: ServiceSpec, *, demo: bool = False) -> tuple[Service, bool]:
        """The validated service a registration would store, and whether it is new.
        Nothing is stored or changed."""
        validate_service_id(spec.service_id)
        created = spec.service_id not in self._monitor
        if created:
            service = self._new_service(spec, demo)
        else:
            service = self._changed_service(self._monitor.state(spec.service_id).service, spec)
        return service.validated(), created

    def apply(self, service: Service, created: bool, *, tell_others: bool = True) -> None:
        """Watch a service that was just stored. `tell_others` False: the caller tells
        the other replicas once for many (an import)."""
        self._versions.pop(service.service_id, None)  # the next reconcile reads it back
        if self._feed is not None and tell_others:
            self._feed.service_changed(service.service_id)
        self._monitor.watch(service)
        self._graph.add_service(service.service_id, cluster=service.cluster, monitored=True)
        action = "registered" if created else "updated"
        self._hub.publish(REGISTRY, RegistryEvent(action, service.service_id))

    async def update(self, spec: ServiceSpec) -> Service:
        """Change a known service; unknown ids raise ServiceNotFound."""
        async with self.changing(spec.service_id):
            current = self._monitor.state(spec.service_id).service
            service = self._changed_service(current, spec).validated()
            await self._repository.upsert_service(service)
            self.apply(service, created=False)
        return service

    async def deregister(self, service_id: str) -> Service:
        async with self.changing(service_id):
            service = self._monitor.state(service_id).service
            if not await self._repository.delete_service(service_id):
                raise ServiceNotFound(service_id)
            self._forget(service_id)
            if self._feed is not None:
                self._feed.service_changed(service_id)
        return service

    def _forget(self, service_id: str) -> None:
        self._monitor.unwatch(service_id)
        self._history.forget(service_id)
        self._graph.remove_service(service_id)
        self._versions.pop(service_id, None)
        self._hub.publish(REGISTRY, RegistryEvent("deregistered", service_id))

    async def beat(
        self,
        service_id: str,
        *,
        ok: bool = True,
        latency_ms: float | None = None,
        message: str | None = None,
    ) -> BeatReceipt:
        """A beat pushed by the service itself, counted by the replica that owns it."""
        await self.require(service_id)
        if self._beats is not None and not self._monitor.owns(service_id):
            self._monitor.state(service_id)  # ServiceNotFound for an unknown id
            return await self._beats.forward(service_id, ok, latency_ms, message)
        state = self._monitor.record_beat(service_id, ok=ok, latency_ms=latency_ms, message=message)
        return BeatReceipt(state.status, state.heartbeat_count)

    async def require(self, service_id: str) -> None:
        """ServiceNotFound unless the service is registered. In a cluster, an id this
        replica has not heard of yet is looked up in the database: a service registered
        through one replica can beat through another at once."""
        if service_id not in self._monitor and self._feed is not None:
            try:
                validate_service_id(service_id)
            except InvalidField:
                raise ServiceNotFound(service_id) from None  # could never be registered
            await self.refresh(service_id)
        self._monitor.state(service_id)

    # -- what other replicas changed (cluster mode) --------------------------------------

    async def refresh(self, service_id: str) -> None:
        """Read one service back from the database after another replica changed it."""
        async with self.changing(service_id):
            found = await self._repository.get_service(service_id)
            if found is None:
                if service_id in self._monitor:
                    self._forget(service_id)
                return
            service, version = found
            if version <= self._versions.get(service_id, 0):
                return  # an older read than one already applied
            self._versions[service_id] = version
            created = service_id not in self._monitor
            self._monitor.watch(service, spread=created)
            self._graph.add_service(service_id, cluster=service.cluster, monitored=True)
            action = "registered" if created else "updated"
            self._hub.publish(REGISTRY, RegistryEvent(action, service_id))

    async def reconcile(self) -> int:
        """Compare every row version with those applied here and read back what differs
        (a change whose message this replica missed). Returns how many were read."""
        stored = await self._repository.service_versions()
        differing = [sid for sid, version in stored.items() if self._versions.get(sid) != version]
        differing += [sid for sid in self._monitor.names() if sid not in stored]
        for service_id in differing:
            await self.refresh(service_id)
        return len(differing)

    async def restore(self) -> int:
        """Watch every stored service again (at startup), spread over its interval."""
        statuses = await self._history_repository.last_statuses()
        # Read first: a write landing in between leaves a newer version in the database
        # than the one noted, and the next reconcile reads that service back.
        self._versions = await self._repository.service_versions()
        services = await self._repository.list_services()
        for service in services:
            self._monitor.watch(service, spread=True, status=statuses.get(service.service_id))
            self._graph.add_service(service.service_id, cluster=service.cluster, monitored=True)
        return len(services)

    def _new_service(self, spec: ServiceSpec, demo: bool) -> Service:
        given = _given(spec)
        given.setdefault("check_type", CheckType.HTTP if spec.health_url else CheckType.PUSH)
        if "interval_seconds" in given and "timeout_seconds" not in given:
            # Dead after three intervals without an answer, as a 3 s interval means 9 s.
            given["timeout_seconds"] = 3 * float(spec.interval_seconds or 0)
        check = replace(self._defaults, **given)
        return Service(
            service_id=spec.service_id,
            service_name=spec.service_name or spec.service_id,
            check=check,
            cluster=spec.cluster,
            demo=demo,
            public=bool(spec.public),
            registered_at=self._clock.wall(),
            labels=as_labels(spec.labels or {}),
        )

    @staticmethod
    def _changed_service(current: Service, spec: ServiceSpec) -> Service:
        changes = _given(spec)
        if "health_url" in changes and "check_type" not in changes:
            changes["check_type"] = CheckType.HTTP
        if changes.get("check_type", current.check.check_type) is not current.check.check_type:
            changes = {**_KIND_OPTIONS, **changes}
        check = replace(current.check, **changes)
        return replace(
            current,
            service_name=spec.service_name or current.service_name,
            cluster=spec.cluster if spec.cluster is not None else current.cluster,
            public=spec.public if spec.public is not None else current.public,
            labels=as_labels(spec.labels) if spec.labels is not None else current.labels,
            check=check,
        )


def _given(spec: ServiceSpec) -> dict[str, Any]:
    """The check fields the caller did send (empty assertions: none)."""
    given = {name: getattr(spec, name) for name in _CHECK_FIELDS if getattr(spec, name) is not None}
    if given.get("assertions") == HttpAssertions():
        given["assertions"] = None
    return given
