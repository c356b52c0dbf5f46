"""The composition root: builds every part from Settings, once, for the app and the CLI.

`build_mesh` wires the adapters (database, prober, broker, webhooks) into the core's use
cases and registers the background jobs with the supervisor. Transports are handed
`Mesh.use_cases` and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

from ose_mesh.adapters.broker import (
    AmqpBroker,
    DeclaredTopology,
    ManagementClient,
    ManagementTopology,
    MemoryBroker,
    MemoryTopology,
)
from ose_mesh.adapters.db import SqlRepository
from ose_mesh.adapters.notify import NotificationSenders
from ose_mesh.adapters.notify_file import NotifyFileError, read_targets
from ose_mesh.adapters.probes import NetworkPolicy, NetworkProber
from ose_mesh.adapters.webhooks import HttpWebhooks
from ose_mesh.api.access import TokenFileError, Tokens
from ose_mesh.bus import MessageBus
from ose_mesh.bus.settings import BusSettings
from ose_mesh.config import MIN_TOKEN_LENGTH, ConfigError, Settings
from ose_mesh.core import (
    Clock,
    DependencyGraph,
    DependencyService,
    EventHub,
    HealthQueries,
    HeartbeatMonitor,
    HistoryRecorder,
    Prober,
    ServiceRegistry,
    SystemClock,
)
from ose_mesh.core.alerts import AlertNotifier
from ose_mesh.core.broker import Broker, BrokerAdmin
from ose_mesh.core.bus_status import BusQueries
from ose_mesh.core.catalog import CatalogImporter
from ose_mesh.core.cluster import ClusterQueries
from ose_mesh.core.cluster_link import HALVES_SECONDS, ClusterLink
from ose_mesh.core.event_log import EventLog, EventTap
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.core.membership import Identity, Membership, default_replica_id
from ose_mesh.core.notices import forward_notices, subscribe_notices
from ose_mesh.core.notifications import NotificationCenter
from ose_mesh.core.observations import SYNC_SECONDS as TRACES_SYNC_SECONDS
from ose_mesh.core.observations import Observations
from ose_mesh.core.outbox import EventService, OutboxRelay
from ose_mesh.core.self_check import SelfCheck
from ose_mesh.core.shards import ShardOwner
from ose_mesh.core.status_page import StatusPageQueries
from ose_mesh.core.supervisor import Supervisor
from ose_mesh.core.traces import ServiceDirectory, TraceBook
from ose_mesh.core.transitions import forward_transitions, subscribe_transitions
from ose_mesh.core.use_cases import UseCases
from ose_mesh.domain import CheckConfig, DomainError, Service
from ose_mesh.domain.notifications import NotificationTarget

log = logging.getLogger(__name__)

# Replicas compare what they hold with the database this often (missed change messages).
RECONCILE_SECONDS = 10.0
# Maintenance windows and notification targets are read again this often, besides at once
# after a change made here or told by another replica.
SETTINGS_REFRESH_SECONDS = 5.0
# A stopping server hands over and leaves within this, or lets its leases run out.
LEAVE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Mesh:
    use_cases: UseCases
    jobs: Supervisor
    monitor: HeartbeatMonitor
    history: HistoryRecorder
    repository: SqlRepository
    catalog: CatalogImporter
    defaults: CheckConfig
    self_check: SelfCheck
    message_bus: MessageBus
    webhooks: AlertNotifier
    network_prober: NetworkProber | None
    membership: Membership
    shards: ShardOwner | None = None  # cluster mode
    link: ClusterLink | None = None

    async def open(self) -> tuple[int, int]:
        """Create the schema and restore services and dependencies; returns their counts."""
        await self.repository.create_schema()
        await self.use_cases.maintenance.refresh()  # before the first check is counted
        await self.use_cases.notifications.refresh()
        restored = await self.use_cases.registry.restore()
        edges = await self.use_cases.dependencies.restore()
        # Traffic figures written before a restart, or by the other replicas: read now,
        # not at the first sync, so the graph shows them from the first answer.
        await self.use_cases.observations.sync()
        if self.shards is None:  # a lone server checks everything: its notifications go on
            self.use_cases.notifications.resume(list(self.monitor.names()))
        if self.shards is not None:
            await self.shards.load_mirrors()
        return restored, edges

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Join the servers of the database (raises ServerInUse when this one may not),
        register the mesh itself, run the background jobs while the block runs."""
        await self.membership.join()
        try:
            if self.shards is not None:
                await self.shards.tick()  # hold a share before answering
            await self.self_check.register(self.defaults)
            async with self.jobs.running():
                yield
        finally:
            await self._leave()

    async def _leave(self) -> None:
        """Hand the shards over at once (the others are told), then leave. Bounded: with
        the database or the broker away, the leases run out on their own instead."""
        with contextlib.suppress(DomainError, TimeoutError):
            async with asyncio.timeout(LEAVE_SECONDS):
                if self.shards is not None:
                    await self.shards.release_all()
                if self.link is not None:
                    await self.link.tell_left()
                await self.membership.leave()

    async def close(self) -> None:
        await self.message_bus.close()
        await self.history.flush()
        await self.use_cases.observations.sync()  # the last figures, for a restart
        if self.network_prober is not None:
            await self.network_prober.close()
        await self.repository.close()


def tokens(settings: Settings) -> Tokens:
    """The access tokens: the two variables and the token file, if any. A token shorter
    than MIN_TOKEN_LENGTH is refused: it could be guessed."""
    for name, value in (
        ("OSE_MESH_READ_TOKENS", settings.read_tokens),
        ("OSE_MESH_WRITE_TOKENS", settings.write_tokens),
    ):
        for number, token in enumerate(value.split(","), 1):
            if token.strip() and len(token.strip()) < MIN_TOKEN_LENGTH:
                raise ConfigError(_short_token(f"{name}: token {number}"))
    try:
        found = Tokens.from_values(
            settings.read_tokens.split(","), settings.write_tokens.split(","), settings.token_file
        )
    except TokenFileError as exc:
        raise ConfigError(f"OSE_MESH_TOKEN_FILE: {exc}") from None
    if any(len(token) < MIN_TOKEN_LENGTH for token in (*found.read, *found.write)):
        raise ConfigError(_short_token("OSE_MESH_TOKEN_FILE: a token"))
    return found


def _short_token(which: str) -> str:
    return (
        f"{which} is shorter than {MIN_TOKEN_LENGTH} characters and could be guessed; make"
        " one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )


def notification_targets(
    settings: Settings, senders: NotificationSenders
) -> list[NotificationTarget]:
    """The targets of OSE_MESH_NOTIFY_FILE (none without it); ConfigError saying what is
    wrong with the file."""
    if settings.notify_file is None:
        return []
    try:
        return read_targets(settings.notify_file, senders)
    except NotifyFileError as exc:
        raise ConfigError(f"OSE_MESH_NOTIFY_FILE: {exc}") from None


def probe_policy(settings: Settings) -> NetworkPolicy:
    """Where probes may go: never link-local or unspecified, nor a denied network; only
    allowed ones when an allow list is given; and, when the server listens beyond loopback,
    no loopback or private address that the allow list does not name."""
    return NetworkPolicy.from_lists(
        settings.probe_deny.split(","),
        settings.probe_allow.split(","),
        local_denied=not settings.listens_on_loopback,
    )


def _topology(bus: BusSettings, broker: Broker, tap: EventTap) -> BrokerAdmin:
    if bus.rabbitmq_management_url:
        client = ManagementClient(
            bus.rabbitmq_management_url, bus.rabbitmq_user, bus.rabbitmq_pass, bus.rabbitmq_vhost
        )
        return ManagementTopology(client)
    if isinstance(broker, MemoryBroker):
        return MemoryTopology(broker)
    return DeclaredTopology(broker, tap.own_queues)


def build_mesh(
    settings: Settings,
    *,
    clock: Clock | None = None,
    prober: Prober | None = None,
    broker: Broker | None = None,
) -> Mesh:
    clock = clock or SystemClock()
    repository = SqlRepository.from_url(settings.database_url)
    identity = Identity(settings.replica_id or default_replica_id(), settings.cluster)
    shards: ShardOwner | None = None
    membership = Membership(repository, identity)
    network_prober = None
    if prober is None:
        prober = network_prober = NetworkProber(
            policy=probe_policy(settings),
            replica_id=identity.replica_id if settings.cluster else None,
            ca_file=settings.probe_ca_file,
        )
    hub = EventHub()
    history = HistoryRecorder(clock, repository)
    graph = DependencyGraph()
    maintenance = MaintenanceSchedule(repository, clock, lambda: _watched(monitor))
    monitor = HeartbeatMonitor(
        clock,
        prober,
        hub,
        history,
        causes=graph,
        max_concurrent_probes=settings.max_concurrent_probes,
        # The shard owner is built next, over this monitor: the monitor asks it late.
        owns=(lambda service_id: shards is not None and shards.owns(service_id))
        if settings.cluster
        else None,
        in_maintenance=maintenance.in_maintenance,
    )
    bus_settings = settings.bus()
    if broker is None:
        broker = AmqpBroker(bus_settings.url) if bus_settings.backend == "amqp" else MemoryBroker()
    link: ClusterLink | None = None
    if settings.cluster:
        shards = ShardOwner(membership, repository, repository, monitor, clock)
        link = ClusterLink(broker, shards, monitor, hub)
    defaults = CheckConfig(
        interval_seconds=settings.heartbeat_interval,
        timeout_seconds=settings.heartbeat_timeout,
        max_failures=settings.heartbeat_max_failures,
    )
    registry = ServiceRegistry(
        repository, repository, monitor, history, hub, clock, defaults, graph, feed=link, beats=link
    )
    dependencies = DependencyService(repository, graph, monitor, hub, feed=link)
    observations = Observations(
        TraceBook(
            ServiceDirectory(lambda: _watched(monitor), time.monotonic),
            max_edges=settings.trace_max_edges,
            max_services=settings.trace_max_services,
        ),
        repository,
        identity.replica_id,
        declared=graph.dependencies,
        registered=monitor.__contains__,
        declare=dependencies.add,
        in_graph=graph.__contains__,
    )
    dependencies.observations = observations
    monitor.judge_traces = observations.judge
    message_bus = MessageBus(broker, name="service-mesh")
    event_log = EventLog(hub)
    tap = EventTap(broker, event_log)
    # Several relays share the outbox only in a cluster: a single server's takes every row.
    relay = OutboxRelay(
        repository, message_bus, claimant=identity.replica_id if settings.cluster else None
    )
    events = EventService(repository, relay, message_bus)
    webhooks = AlertNotifier(settings.webhooks, HttpWebhooks())
    senders = NotificationSenders()
    notifications = NotificationCenter(
        repository,
        senders,
        monitor,
        hub,
        clock,
        affected=lambda service_id: _affected(dependencies, service_id),
        in_maintenance=maintenance.in_maintenance,
        file_targets=notification_targets(settings, senders),
    )
    jobs = Supervisor()
    health = HealthQueries(monitor, history, repository, clock, graph, maintenance)
    use_cases = UseCases(
        registry=registry,
        health=health,
        dependencies=dependencies,
        events=events,
        event_log=event_log,
        bus=BusQueries(
            backend=bus_settings.backend,
            broker_address=bus_settings.safe_url,
            bus=message_bus,
            relay=relay.stats,
            tap=tap,
            outbox=repository,
            admin=_topology(bus_settings, broker, tap),
            notifier=webhooks,
        ),
        hub=hub,
        cluster=ClusterQueries(membership, monitor, repository if settings.cluster else None),
        status_page=StatusPageQueries(monitor, health, repository, clock, maintenance),
        maintenance=maintenance,
        notifications=notifications,
        observations=observations,
    )
    self_check = SelfCheck(monitor, registry, repository, jobs)
    # Subscribed now, before anything can change, so that no transition is missed.
    transitions = subscribe_transitions(hub)
    notices = subscribe_notices(hub)
    alerts = subscribe_transitions(hub) if webhooks.urls else None
    to_notify = subscribe_transitions(hub)
    jobs.add("monitor", monitor.run)
    jobs.add(
        "history",
        _every(settings.history_flush_seconds, history.flush, jobs.stopping),
        graceful=True,  # stopped between two flushes; Mesh.close writes the rest
    )
    jobs.add("self-check", self_check.run)
    jobs.add("bus-connection", lambda: message_bus.stay_connected(on_connect))
    jobs.add("outbox-relay", relay.run)
    jobs.add("transitions", lambda: forward_transitions(transitions, events))
    jobs.add("notices", lambda: forward_notices(notices, events))
    jobs.add("notifications", lambda: notifications.run(to_notify), vital=False)
    jobs.add(
        "settings",  # maintenance windows and targets changed elsewhere, if a message was lost
        _every(SETTINGS_REFRESH_SECONDS, _read_settings(maintenance, notifications), jobs.stopping),
        vital=False,
    )
    jobs.add("graph-analysis", dependencies.keep_analysed, vital=False)
    jobs.add(
        "traces",  # figures written for the other replicas (and a restart), theirs read
        _every(TRACES_SYNC_SECONDS, observations.sync, jobs.stopping),
        graceful=True,
        vital=False,
    )
    if alerts is not None:
        jobs.add("webhooks", lambda: webhooks.run(alerts), vital=False)

    async def on_connect() -> None:
        await tap.attach()
        if link is not None:
            await link.attach()

    if shards is not None and link is not None:
        link.serve(registry, dependencies, maintenance, notifications, observations.book)
        maintenance.on_change = notifications.on_change = link.settings_changed
        shards.on_states = link.send_states
        shards.on_adopt = notifications.resume
        jobs.add("shards", shards.run)
        jobs.add("states", shards.keep_states_written)
        jobs.add("cluster-transitions", link.forward_transitions)
        jobs.add(
            "trace-halves",
            _every(HALVES_SECONDS, link.send_halves, jobs.stopping),
            vital=False,
        )
        jobs.add(
            "reconcile",
            _every(RECONCILE_SECONDS, _reconciler(registry, dependencies), jobs.stopping),
            vital=False,
        )
    else:
        jobs.add("lease", membership.keep_alive)
    catalog = CatalogImporter(registry, dependencies, repository)
    return Mesh(
        use_cases,
        jobs,
        monitor,
        history,
        repository,
        catalog,
        defaults,
        self_check,
        message_bus,
        webhooks,
        network_prober,
        membership,
        shards,
        link,
    )


def _watched(monitor: HeartbeatMonitor) -> Iterator[Service]:
    """Every registered service, as the monitor holds it."""
    return (state.service for state in monitor.states())


def _reconciler(
    registry: ServiceRegistry, dependencies: DependencyService
) -> Callable[[], Awaitable[None]]:
    async def reconcile() -> None:
        try:
            await registry.reconcile()
            await dependencies.reconcile()
        except DomainError as exc:
            log.warning("could not compare with the database: %s", exc)

    return reconcile


def _every(
    seconds: float, work: Callable[[], Awaitable[None]], stopping: asyncio.Event
) -> Callable[[], Awaitable[None]]:
    """A job that does `work` every `seconds` until `stopping` is set (a run under way
    finishes: it is never cut in the middle)."""

    async def job() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await stopping.wait()
            if not stopping.is_set():
                await work()

    return job


def _read_settings(
    maintenance: MaintenanceSchedule, notifications: NotificationCenter
) -> Callable[[], Awaitable[None]]:
    async def read() -> None:
        try:
            await maintenance.refresh()
            await notifications.refresh()
        except DomainError as exc:  # the database is away: keep what was read
            log.warning("could not read the maintenance windows and targets: %s", exc.message)

    return read


def _affected(dependencies: DependencyService, service_id: str) -> int:
    """How many services a trouble of `service_id` reaches (for notifications' words)."""
    impact = dependencies.impact(service_id)
    return len(impact.failed) + len(impact.degraded)
