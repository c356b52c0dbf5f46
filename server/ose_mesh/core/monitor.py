"""The heartbeat monitor: one scheduler for every service, bounded probe concurrency.

A single heap holds, per service, the next check and the next moment it could turn dead.
Checks are due at fixed multiples of the interval from the first one, so slow probes never
make the schedule drift; each probe runs as its own task under a semaphore and a timeout, so
a hung service never delays the others; a service whose probe is still running when the
next one is due is skipped for that round (its timeout counts it as a failure).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ose_mesh.core.certificates import certificate_event, certificate_warning
from ose_mesh.core.health_state import HealthState, to_local, to_wall
from ose_mesh.core.history import HistoryRecorder
from ose_mesh.core.hub import HEARTBEAT, OWN_NOTICES, OWN_STATUS, STATUS, EventHub
from ose_mesh.core.ports import Clock, ProbeOutcome, Prober, RootCauseReader
from ose_mesh.domain import (
    CheckType,
    HealthStatus,
    HeartbeatResult,
    Service,
    ServiceNotFound,
    StatusChange,
    storable,
)

log = logging.getLogger(__name__)
TRACES_PREFIX = "from traces: "  # how a traces check's messages start (core/observations.py)

MAX_SLEEP_SECONDS = 1.0
DRIFT_SAMPLES = 4096
# Dead checks fire a hair after the deadline, as "dead" means *more than* timeout_seconds.
DEADLINE_EPSILON = 0.001
# A dead-timer that came due while the service's lease was being renewed late looks again
# this much later.
HOLD_RETRY_SECONDS = 1.0


# What a heap entry is for. Entries are plain tuples of numbers and a string,
# (due, seq, kind, service_id, token): the collector stops tracking such a tuple the first
# time it sees it, so the 2,000 entries a second made at 10,000 services never pile up in
# the oldest generation (as objects, they made a full collection every few seconds).
_CHECK = 1  # probe an http/tcp service, or look for a missing push beat
_DEADLINE = 2  # the moment the service turns dead if nothing succeeds before
_Entry = tuple[float, int, int, str, int]


@dataclass(slots=True)
class MonitorStats:
    probes_started: int = 0
    probes_failed: int = 0
    probes_skipped: int = 0
    beats_received: int = 0
    drift_seconds: array[float] = field(default_factory=lambda: array("d"))

    def add_drift(self, seconds: float) -> None:
        if len(self.drift_seconds) >= DRIFT_SAMPLES:
            del self.drift_seconds[: DRIFT_SAMPLES // 2]
        self.drift_seconds.append(seconds)


class HeartbeatMonitor:
    def __init__(
        self,
        clock: Clock,
        prober: Prober,
        hub: EventHub,
        history: HistoryRecorder,
        *,
        causes: RootCauseReader | None = None,
        max_concurrent_probes: int = 512,
        rng: random.Random | None = None,
        observers: Sequence[Callable[[HeartbeatResult], None]] = (),
        owns: Callable[[str], bool] | None = None,
        in_maintenance: Callable[[Service], bool] | None = None,
    ) -> None:
        """`owns` says which services this process checks (cluster mode: those of the
        shards it holds); the others are kept as mirrors of what their owner reports.
        `in_maintenance` (core/maintenance.py): such a service's checks stay out of the
        uptime rollups, and its transitions say so."""
        self._clock = clock
        self._prober = prober
        self._hub = hub
        self._history = history
        self._semaphore = asyncio.Semaphore(max_concurrent_probes)
        self._rng = rng or random.Random()
        self._observers = tuple(observers)
        self._causes = causes
        self._owns = owns or _everything
        self._in_maintenance = in_maintenance or _nothing
        self._dirty: set[str] = set()  # owned states changed since the last snapshot
        self._states: dict[str, HealthState] = {}
        self._tokens: dict[str, int] = {}
        self._last_beat: dict[str, float] = {}
        self._deadline_armed: set[str] = set()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._mirrored: dict[str, float] = {}  # when the mirrored snapshot was taken
        self._heap: list[_Entry] = []
        self._seq = 0
        self._wakeup = asyncio.Event()
        self.stats = MonitorStats()
        # check_type 'traces': a service's server spans judge it (core/observations.py).
        self.judge_traces: Callable[[Service], ProbeOutcome | None] | None = None

    # -- what is watched -----------------------------------------------------------------

    def watch(
        self, service: Service, *, spread: bool = False, status: HealthStatus | None = None
    ) -> HealthState:
        """Start watching `service`, or apply its new config while keeping its metrics.

        `spread` delays the first check by a random part of the interval, so a restart with
        many services does not probe them all at once; `status` restores a stored status.
        """
        now = self._clock.monotonic()
        state = self._states.get(service.service_id)
        if state is None:
            state = HealthState(service, now, status or HealthStatus.UNKNOWN)
            self._states[service.service_id] = state
        else:
            state.service = service
        token = self._next_token(service.service_id)
        if not self._owns(service.service_id):
            return state  # another replica checks it
        interval = service.check.interval_seconds
        if service.check.check_type is CheckType.PUSH:
            first = now + interval
        else:
            # Spread over 90% of the interval: everyone is checked within one interval.
            first = now + (self._rng.uniform(0, 0.9 * interval) if spread else 0.0)
        self._push(first, _CHECK, service.service_id, token)
        self._arm_deadline(state)
        return state

    def _next_token(self, service_id: str) -> int:
        """Void whatever is scheduled for the service (a probe under way is not counted)."""
        token = self._tokens.get(service_id, 0) + 1
        self._tokens[service_id] = token
        self._deadline_armed.discard(service_id)
        return token

    # -- ownership (cluster mode) --------------------------------------------------------

    def adopt(self, service_id: str, snapshot: dict[str, Any] | None) -> None:
        """Start checking a service this process now owns, continuing from `snapshot`
        (its former owner's last stored state): never back to `unknown`. The next probe
        comes one interval after the last one (at once if that is past); a push service
        gets one interval for its next beat."""
        state = self._states.get(service_id)
        if state is None:
            return
        now = self._clock.monotonic()
        if snapshot is not None:
            wall_now = self._clock.wall().timestamp()
            state.restore(snapshot, now, wall_now)
            last_beat = to_local(snapshot.get("last_beat"), now, wall_now)
            if last_beat is not None:
                self._last_beat[service_id] = last_beat
        token = self._next_token(service_id)
        interval = state.service.check.interval_seconds
        if state.service.check.check_type is CheckType.PUSH:
            first = now + interval
        else:
            # Where the former owner's schedule was: a handover probes no sooner than it
            # would have; after a crash the slot is past, and the probe comes at once.
            last = state.last_result_at
            due = now if last is None else max(now, last + interval)
            first = due + self._rng.uniform(0, min(0.5, 0.1 * interval))
        self._push(first, _CHECK, service_id, token)
        self._arm_deadline(state)

    def release(self, service_id: str) -> None:
        """Stop checking a service another replica owns now (its state stays, a mirror)."""
        if service_id in self._states:
            self._next_token(service_id)
            self._dirty.discard(service_id)
            task = self._inflight.pop(service_id, None)
            if task is not None:
                task.cancel()

    def mirror(self, service_id: str, snapshot: dict[str, Any]) -> bool:
        """Take the state its owner reports for a service this process does not check;
        older reports than the one held are ignored. True when taken."""
        state = self._states.get(service_id)
        if state is None or self._owns(service_id):
            return False
        taken_at = float(snapshot.get("taken_at", 0))
        if taken_at < self._mirrored.get(service_id, 0.0):
            return False
        state.restore(snapshot, self._clock.monotonic(), self._clock.wall().timestamp())
        self._mirrored[service_id] = taken_at
        return True

    def snapshot(self, service_id: str) -> dict[str, Any]:
        state = self.state(service_id)
        now = self._clock.monotonic()
        wall_now = self._clock.wall().timestamp()
        taken = state.snapshot(now, wall_now)
        taken["last_beat"] = to_wall(self._last_beat.get(service_id), now, wall_now)
        return taken

    def mark_changed(self, service_ids: Iterable[str]) -> None:
        """Snapshots that could not be written: take them again next time."""
        self._dirty.update(service_ids)

    def take_changed(self) -> list[tuple[str, HealthStatus, dict[str, Any]]]:
        """Snapshots of the owned services that changed since the last call (those not
        owned this moment, a late lease renewal, wait for the next call)."""
        taken = {sid for sid in self._dirty if sid in self._states and self._owns(sid)}
        self._dirty -= taken
        return [
            (service_id, self._states[service_id].status, self.snapshot(service_id))
            for service_id in taken
        ]

    def owns(self, service_id: str) -> bool:
        """Whether this process checks the service (always, outside cluster mode)."""
        return self._owns(service_id)

    def _root_causes_of(self, service_id: str) -> list[str]:
        if self._causes is None:
            return []
        return self._causes.root_causes_of(service_id, self.status_view())

    def names(self) -> dict[str, str]:
        return {sid: state.service.service_name for sid, state in self._states.items()}

    def statuses(self) -> dict[str, HealthStatus]:
        return {sid: state.status for sid, state in self._states.items()}

    def status_view(self) -> Mapping[str, HealthStatus]:
        """Every service's status, read live: no copy (a status change asks for a few
        statuses, and copying them all made a storm of changes quadratic)."""
        return _StatusView(self._states)

    def add_observer(self, observe: Callable[[HeartbeatResult], None]) -> None:
        """Call `observe` with every heartbeat result (metrics)."""
        self._observers += (observe,)

    def unwatch(self, service_id: str) -> None:
        self._states.pop(service_id, None)
        self._mirrored.pop(service_id, None)
        self._dirty.discard(service_id)
        self._tokens.pop(service_id, None)
        self._last_beat.pop(service_id, None)
        self._deadline_armed.discard(service_id)
        task = self._inflight.pop(service_id, None)
        if task is not None:
            task.cancel()

    def state(self, service_id: str) -> HealthState:
        try:
            return self._states[service_id]
        except KeyError:
            raise ServiceNotFound(service_id) from None

    def states(self) -> Iterator[HealthState]:
        return iter(tuple(self._states.values()))

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._states

    # -- input from pushing services -----------------------------------------------------

    def record_beat(
        self,
        service_id: str,
        *,
        ok: bool = True,
        latency_ms: float | None = None,
        message: str | None = None,
    ) -> HealthState:
        """A beat pushed by the service itself (any check type may push)."""
        storable("message", message)
        state = self.state(service_id)
        now = self._clock.monotonic()
        self._last_beat[service_id] = now
        self.stats.beats_received += 1
        self._apply(HeartbeatResult(service_id, ok, now, latency_ms, message))
        return state

    # -- the schedule --------------------------------------------------------------------

    async def run(self) -> None:
        """Process the schedule until cancelled (held and cancelled by the app's lifespan)."""
        try:
            while True:
                delay = self.run_due()
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(delay):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
        finally:
            for task in tuple(self._inflight.values()):
                task.cancel()

    def run_due(self) -> float:
        """Handle every entry due by now; return the seconds until the next one."""
        now = self._clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            due, _, kind, service_id, token = heapq.heappop(self._heap)
            if self._tokens.get(service_id) != token:
                continue  # the service was changed or removed since this was scheduled
            state = self._states[service_id]
            if not self._owns(service_id):
                self._hold(state, kind, due, token, now)
                continue
            if kind == _CHECK:
                self._on_check_due(state, due, token, now)
            else:
                self._on_deadline(state, token, now)
        if not self._heap:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, self._heap[0][0] - now))

    def _hold(self, state: HealthState, kind: int, due: float, token: int, now: float) -> None:
        """Not acting on a service this process may not check right now (its lease is
        being renewed late), while keeping its place: checking resumes with the renewal.
        Had the shard gone to another replica, release() would have voided the token."""
        service_id = state.service.service_id
        if kind == _CHECK:
            self._push(_next_slot(due, now, state.service), _CHECK, service_id, token)
        else:
            self._push(now + HOLD_RETRY_SECONDS, _DEADLINE, service_id, token)

    async def wait_for_probes(self) -> None:
        """Wait until every running probe has finished (tests and benchmarks)."""
        while self._inflight:
            await asyncio.gather(*tuple(self._inflight.values()), return_exceptions=True)

    def _push(self, due: float, kind: int, service_id: str, token: int) -> None:
        self._seq += 1
        entry = (due, self._seq, kind, service_id, token)
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._wakeup.set()

    def _on_check_due(self, state: HealthState, due: float, token: int, now: float) -> None:
        service = state.service
        interval = service.check.interval_seconds
        self.stats.add_drift(now - due)
        # The next slot stays on the original grid; slots already past are skipped.
        self._push(_next_slot(due, now, service), _CHECK, service.service_id, token)
        if service.check.check_type is CheckType.PUSH:
            last_beat = self._last_beat.get(service.service_id)
            if last_beat is None or last_beat < due - interval:
                self._apply(
                    HeartbeatResult(
                        service.service_id, False, now, None, "no heartbeat received", False
                    )
                )
            return
        if service.check.check_type is CheckType.TRACES:
            self._judge_by_traces(service, now)
            return
        if service.service_id in self._inflight:
            self.stats.probes_skipped += 1
            return
        self.stats.probes_started += 1
        task = asyncio.get_running_loop().create_task(self._probe(service, token))
        self._inflight[service.service_id] = task

    def _judge_by_traces(self, service: Service, now: float) -> None:
        outcome = None if self.judge_traces is None else self.judge_traces(service)
        if outcome is not None:  # None: no span yet, it stays unknown
            self._apply(_result(service, outcome, now))

    async def _probe(self, service: Service, token: int) -> None:
        try:
            outcome = await self._probe_once(service)
        finally:
            if self._inflight.get(service.service_id) is asyncio.current_task():
                del self._inflight[service.service_id]
        if self._tokens.get(service.service_id) != token:
            return
        if not outcome.ok:
            self.stats.probes_failed += 1
        result = _result(service, outcome, self._clock.monotonic())
        state = self._states.get(service.service_id)
        if outcome.cert_not_after is not None or (state is not None and state.warning):
            self._apply_with_certificate(result, outcome.cert_not_after)
        else:
            self._apply(result)

    async def _probe_once(self, service: Service) -> ProbeOutcome:
        timeout = service.check.probe_timeout_seconds
        async with self._semaphore:
            try:
                async with asyncio.timeout(timeout):
                    return await self._prober.probe(service)
            except TimeoutError:
                return ProbeOutcome(
                    False, timeout * 1000, f"no answer within {timeout:g}s", answered=False
                )
            except Exception as exc:  # a prober bug must not stop monitoring
                log.exception("probe of %s raised", service.service_id)
                return ProbeOutcome(
                    False, 0.0, f"probe error: {type(exc).__name__}", answered=False
                )

    def _arm_deadline(self, state: HealthState) -> None:
        service_id = state.service.service_id
        if service_id in self._deadline_armed:
            return
        self._deadline_armed.add(service_id)
        due = state.dead_deadline() + DEADLINE_EPSILON
        self._push(due, _DEADLINE, service_id, self._tokens[service_id])

    def _on_deadline(self, state: HealthState, token: int, now: float) -> None:
        service_id = state.service.service_id
        self._deadline_armed.discard(service_id)
        if now <= state.dead_deadline():
            self._arm_deadline(state)  # a success moved the deadline: wait for the new one
            return
        previous = state.reevaluate(now)
        if previous is not None:
            self._dirty.add(service_id)
            self._announce(state, previous)

    # -- results -------------------------------------------------------------------------

    def _apply_with_certificate(self, result: HeartbeatResult, not_after: float | None) -> None:
        """A check that saw a TLS certificate (or one of a service warned about it): the
        warning follows what the last success saw, with an event when it starts or ends.
        Kept out of HeartbeatResult, which every check makes."""
        state = self._states.get(result.service_id)
        if state is None or not self._owns(result.service_id):
            return
        if result.ok:
            wall_now = self._clock.wall().timestamp()
            warning = certificate_warning(state.service.check, not_after, wall_now)
            warned = state.warning is not None
            state.warning = warning
            if not_after is not None and warned != (warning is not None):
                check = state.service.check
                event = certificate_event(
                    result.service_id, check, not_after, wall_now, expiring=not warned
                )
                self._hub.publish(OWN_NOTICES, event)
        if not_after is not None:
            state.cert_not_after = not_after
        self._apply(result)

    def _apply(self, result: HeartbeatResult) -> None:
        state = self._states.get(result.service_id)
        if state is None or not self._owns(result.service_id):
            return
        previous = state.record(result)
        self._dirty.add(result.service_id)
        if not self._in_maintenance(state.service):  # neither for nor against its uptime
            self._history.record_heartbeat(result)
        for observe in self._observers:
            observe(result)
        if self._hub.has_subscribers(HEARTBEAT):
            self._hub.publish(HEARTBEAT, result)
        if previous is not None:
            self._announce(state, previous)
        if result.ok:
            self._arm_deadline(state)

    def _announce(self, state: HealthState, previous: HealthStatus) -> None:
        state.transitions += 1
        change = StatusChange(
            service_id=state.service.service_id,
            previous=previous,
            current=state.status,
            at=self._clock.wall(),
            reason=describe_status(state),
            root_causes=tuple(self._root_causes_of(state.service.service_id)),
            in_maintenance=self._in_maintenance(state.service),
        )
        log.info("%s: %s -> %s (%s)", change.service_id, previous, change.current, change.reason)
        self._history.record_transition(change)
        self._hub.publish(OWN_STATUS, change)
        self._hub.publish(STATUS, change)


def _result(service: Service, outcome: ProbeOutcome, now: float) -> HeartbeatResult:
    return HeartbeatResult(
        service.service_id, outcome.ok, now, outcome.latency_ms, outcome.message, outcome.answered
    )


def _next_slot(due: float, now: float, service: Service) -> float:
    """The next check's slot on the service's fixed grid; slots already past are skipped."""
    interval = service.check.interval_seconds
    return due + (math.floor((now - due) / interval) + 1) * interval


def _everything(service_id: str) -> bool:
    return True


def _nothing(service: Service) -> bool:
    return False


def describe_status(state: HealthState) -> str:
    """Why a service has its current status, in words an operator reads."""
    check = state.service.check
    last = f": {state.last_message}" if state.last_message else ""
    match state.status:
        case HealthStatus.DEAD if check.check_type is CheckType.TRACES:
            return (
                f"from traces: no successful check for more than {check.timeout_seconds:g}s"
                f"{last.replace(TRACES_PREFIX, '')}"
            )
        case HealthStatus.DEAD:
            return f"no successful heartbeat for more than {check.timeout_seconds:g}s"
        case HealthStatus.UNKNOWN:
            return "not checked yet"
        case _ if state.heartbeat_count == 0:
            return "last known status, from before the server restarted"
        case HealthStatus.CRITICAL if state.consecutive_failures == 1:
            return f"1 consecutive failure{last}"
        case HealthStatus.CRITICAL:
            return f"{state.consecutive_failures} consecutive failures{last}"
        case HealthStatus.DEGRADED if state.consecutive_failures:
            return f"{state.consecutive_failures} consecutive failure(s){last}"
        case HealthStatus.DEGRADED if state.warning is not None:
            return state.warning
        case HealthStatus.DEGRADED if state.recovering:
            return (
                f"recovering: {state.consecutive_successes} of "
                f"{check.recovery_successes} successes needed"
            )
        case HealthStatus.DEGRADED:
            return (
                f"slow: {state.last_latency_ms or 0:g} ms over the "
                f"{check.latency_threshold_ms or 0:g} ms threshold"
            )
        case _:
            return "heartbeat succeeded"


class _StatusView(Mapping[str, HealthStatus]):
    __slots__ = ("_states",)

    def __init__(self, states: dict[str, HealthState]) -> None:
        self._states = states

    def __getitem__(self, service_id: str) -> HealthStatus:
        return self._states[service_id].status

    def get(self, service_id: str, default: Any = None) -> Any:
        state = self._states.get(service_id)
        return default if state is None else state.status

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)
