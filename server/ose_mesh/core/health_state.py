"""One service's heartbeat state: the status state machine and its metrics.

Status rules (DESIGN.md, "Domain semantics"), in order of precedence:
- dead: no answer at all for more than timeout_seconds (counted from the start of
  monitoring when there never was one): no beat came, or every probe was refused, reset,
  unresolvable or timed out. A service that answers, even with errors (HTTP 5xx, a beat
  with ok=false), is alive: it goes degraded, then critical, never dead;
- unknown: no result yet;
- critical: consecutive_failures >= max_failures;
- degraded: 1 <= consecutive_failures < max_failures, or recovering (fewer than
  recovery_successes successes since the last failure), or the last success was slower
  than latency_threshold_ms or came with a warning (a TLS certificate about to expire);
- healthy: otherwise.

Memory matters (10,000 services): slots, fixed arrays of recent latencies and of the
last checks (the dashboard's strip of beats), no dicts.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

from ose_mesh.domain import HealthStatus, HeartbeatResult, Service

RECENT_SAMPLES = 64
STRIP_LENGTH = 32  # the last checks kept for the strip of beats
STRIP_MESSAGE_CHARS = 160
# A check in the strip is one 32-bit number: tenths of a second after monitoring_since,
# times 4, plus how it ended. The latency of a success is not repeated: it is in the recent
# latencies, in the same order.
_OK_TIMED, _OK, _FAILED, _NO_ANSWER = range(4)
_UNUSED = 0xFFFFFFFF
_EMPTY_STRIP = array("I", [_UNUSED]) * STRIP_LENGTH
_CODES = "++-x"
_OUTCOMES = ("ok", "ok", "failed", "no_answer")
# In a snapshot: "t" a timed success, "o" a success without latency, "-" and "x" as above.
_SNAPSHOT_CODES = {
    ("ok", True): "t",
    ("ok", False): "o",
    ("failed", False): "-",
    ("no_answer", False): "x",
}
_SNAPSHOT_OUTCOMES = {"t": _OK_TIMED, "o": _OK, "-": _FAILED, "x": _NO_ANSWER}
FLAP_WINDOW_SECONDS = 3600.0
MAX_FLAP_MARKS = 64
_AS_FLOAT32 = array("f", [0.0])


@dataclass(frozen=True, slots=True)
class Check:
    """One check in the strip of beats."""

    at: float  # monotonic
    outcome: str  # "ok", "failed" (answered with an error) or "no_answer"
    latency_ms: float | None
    message: str | None  # kept for checks that did not succeed


@dataclass(frozen=True, slots=True)
class LatencyStats:
    average_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class HealthState:
    __slots__ = (
        "_flap_marks",
        "_latency_count",
        "_latency_max",
        "_latency_min",
        "_latency_sum",
        "_recent",
        "_recent_next",
        "_strip",
        "_strip_messages",
        "_strip_next",
        "cert_not_after",
        "consecutive_failures",
        "consecutive_successes",
        "heartbeat_count",
        "last_answer_at",
        "last_latency_ms",
        "last_message",
        "last_result_at",
        "last_success_at",
        "missed_heartbeats",
        "monitoring_since",
        "service",
        "status",
        "status_since",
        "transitions",
        "warning",
    )

    def __init__(
        self, service: Service, now: float, status: HealthStatus = HealthStatus.UNKNOWN
    ) -> None:
        self.service = service
        self.monitoring_since = now
        self.status = status
        self.status_since = now
        self.heartbeat_count = 0
        self.missed_heartbeats = 0
        self.consecutive_failures = 0
        self.consecutive_successes = 0
        self.last_success_at: float | None = None
        self.last_answer_at: float | None = None
        self.last_result_at: float | None = None
        self.last_latency_ms: float | None = None
        self.last_message: str | None = None
        # Why a success still degrades it (a TLS certificate about to expire): set by the
        # monitor from what the last successful check saw.
        self.warning: str | None = None
        self.cert_not_after: float | None = None  # wall-clock seconds
        self._latency_sum = 0.0
        self._latency_count = 0
        self._latency_min = math.inf
        self._latency_max = 0.0
        self._recent = array("f")
        self._recent_next = 0
        self._strip: array[int] | None = None  # a ring of checks, oldest at _strip_next
        self._strip_next = 0
        # slot, message, slot, message… of the checks in the strip that failed with a
        # message: most services have none, and a list per check would cost each 300 bytes.
        self._strip_messages: tuple[int | str, ...] = ()
        # When it changed status in the last hour, as seconds after monitoring_since in
        # 32-bit floats (to the second after months; the window is an hour).
        self._flap_marks: array[float] | None = None
        self.transitions = 0  # how many this state made: orders them across replicas

    # -- input ---------------------------------------------------------------------------

    def record(self, result: HeartbeatResult) -> HealthStatus | None:
        """Fold one heartbeat in; return the previous status if the status changed."""
        self.heartbeat_count += 1
        self.last_result_at = result.at
        self.last_message = result.message
        if result.answered:
            self.last_answer_at = result.at
        self._add_to_strip(result)
        if result.ok:
            self.consecutive_failures = 0
            self.consecutive_successes += 1
            self.last_success_at = result.at
            self.last_latency_ms = result.latency_ms
            if result.latency_ms is not None:
                self._add_latency(result.latency_ms)
        else:
            self.missed_heartbeats += 1
            self.consecutive_failures += 1
            self.consecutive_successes = 0
        return self.reevaluate(result.at)

    def reevaluate(self, now: float) -> HealthStatus | None:
        """Apply the rules at time `now`; return the previous status if it changed."""
        status = self.evaluate(now)
        if status is self.status:
            return None
        previous, self.status, self.status_since = self.status, status, now
        if previous is not HealthStatus.UNKNOWN:  # a first result is news, not a flap
            self._mark_flap(now)
        return previous

    def evaluate(self, now: float) -> HealthStatus:
        check = self.service.check
        if now > self.dead_deadline():
            return HealthStatus.DEAD
        if self.heartbeat_count == 0:
            return HealthStatus.UNKNOWN
        if self.consecutive_failures >= check.max_failures:
            return HealthStatus.CRITICAL
        if self.consecutive_failures >= 1 or self.recovering or self.warning is not None:
            return HealthStatus.DEGRADED
        threshold = check.latency_threshold_ms
        if threshold is not None and (self.last_latency_ms or 0.0) > threshold:
            return HealthStatus.DEGRADED
        return HealthStatus.HEALTHY

    @property
    def recovering(self) -> bool:
        """Answering again after a failure, but not yet for recovery_successes beats in a row."""
        return (
            self.missed_heartbeats > 0
            and self.consecutive_successes < self.service.check.recovery_successes
        )

    def dead_deadline(self) -> float:
        """When the service turns dead if no answer arrives before."""
        reference = self.monitoring_since if self.last_answer_at is None else self.last_answer_at
        return reference + self.service.check.timeout_seconds

    # -- a copy that survives the process (cluster mode) ----------------------------------

    def snapshot(self, now: float, wall_now: float) -> dict[str, Any]:
        """Everything but the service, as JSON values; moments as wall-clock seconds (a
        monotonic time means nothing in another process)."""

        def wall(moment: float | None) -> float | None:
            return to_wall(moment, now, wall_now)

        return {
            "status": self.status.value,
            "status_since": wall(self.status_since),
            "monitoring_since": wall(self.monitoring_since),
            "heartbeat_count": self.heartbeat_count,
            "missed_heartbeats": self.missed_heartbeats,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "last_success_at": wall(self.last_success_at),
            "last_answer_at": wall(self.last_answer_at),
            "last_result_at": wall(self.last_result_at),
            "last_latency_ms": self.last_latency_ms,
            "last_message": self.last_message,
            "warning": self.warning,
            "cert_not_after": self.cert_not_after,
            "latency": [
                self._latency_sum,
                self._latency_count,
                None if self._latency_count == 0 else self._latency_min,
                self._latency_max,
            ],
            # 32-bit floats printed in full take 18 characters; 3 decimals are what is shown
            "recent": [round(latency, 3) for latency in self.recent_latencies()],
            # The strip, small (it goes to the other replicas every few seconds): its code,
            # how long before taken_at each check was (tenths of a second), and the messages
            # by position. Latencies are the recent ones above.
            "strip": self._strip_snapshot(now),
            "flaps": [wall(self.monitoring_since + at) for at in self._flap_marks or ()],
            "transitions": self.transitions,
            "taken_at": wall_now,
        }

    def restore(self, snapshot: dict[str, Any], now: float, wall_now: float) -> None:
        """Take the values of `snapshot` (from another replica or the database)."""

        def local(moment: float | None) -> float | None:
            return to_local(moment, now, wall_now)

        self.status = HealthStatus(snapshot["status"])
        self.status_since = local(snapshot["status_since"]) or now
        self.monitoring_since = local(snapshot["monitoring_since"]) or now
        self.heartbeat_count = int(snapshot["heartbeat_count"])
        self.missed_heartbeats = int(snapshot["missed_heartbeats"])
        self.consecutive_failures = int(snapshot["consecutive_failures"])
        self.consecutive_successes = int(snapshot["consecutive_successes"])
        self.last_success_at = local(snapshot["last_success_at"])
        self.last_answer_at = local(snapshot["last_answer_at"])
        self.last_result_at = local(snapshot["last_result_at"])
        self.last_latency_ms = snapshot["last_latency_ms"]
        self.last_message = snapshot["last_message"]
        self.warning = snapshot.get("warning")  # .get: snapshots stored before they existed
        self.cert_not_after = snapshot.get("cert_not_after")
        total, count, low, high = snapshot["latency"]
        self._latency_sum, self._latency_count = float(total), int(count)
        self._latency_min = math.inf if low is None else float(low)
        self._latency_max = float(high)
        self._recent = array("f", snapshot["recent"][-RECENT_SAMPLES:])
        self._recent_next = 0
        self._restore_strip(snapshot.get("strip"), now, wall_now - snapshot["taken_at"])
        flaps = [local(at) for at in snapshot["flaps"]]
        marks = [at - self.monitoring_since for at in flaps if at is not None]
        self._flap_marks = array("f", marks) if marks else None
        self.transitions = int(snapshot["transitions"])

    # -- metrics -------------------------------------------------------------------------

    @property
    def uptime_percentage(self) -> float:
        if self.heartbeat_count == 0:
            return 0.0
        ratio = (self.heartbeat_count - self.missed_heartbeats) / self.heartbeat_count
        return round(100.0 * ratio, 2)

    def flap_count(self, now: float) -> int:
        """Status transitions within the last hour, leaving `unknown` not counted."""
        if self._flap_marks is None:
            return 0
        since = now - self.monitoring_since
        return sum(1 for at in self._flap_marks if since - at <= FLAP_WINDOW_SECONDS)

    def latency(self) -> LatencyStats:
        if self._latency_count == 0:
            return LatencyStats(None, None, None, None, None, None)
        ordered = sorted(self._recent)
        return LatencyStats(
            average_ms=round(self._latency_sum / self._latency_count, 3),
            min_ms=round(self._latency_min, 3),
            max_ms=round(self._latency_max, 3),
            p50_ms=_percentile(ordered, 0.50),
            p95_ms=_percentile(ordered, 0.95),
            p99_ms=_percentile(ordered, 0.99),
        )

    def recent_latencies(self) -> list[float]:
        """Recent successful latencies, oldest first."""
        if len(self._recent) < RECENT_SAMPLES:
            return list(self._recent)
        cut = self._recent_next
        return list(self._recent[cut:]) + list(self._recent[:cut])

    def checks(self) -> list[Check]:
        """The last STRIP_LENGTH checks, oldest first."""
        strip = self._strip or _EMPTY_STRIP
        messages = dict(zip(self._strip_messages[::2], self._strip_messages[1::2], strict=True))
        latencies = self.recent_latencies()  # the timed successes', oldest first
        found = []
        for slot in reversed(self._strip_order()):  # newest first, to pair the latencies
            value = strip[slot]
            code = value & 3
            latency = None
            if code == _OK_TIMED and latencies:
                latency = round(latencies.pop(), 3)
            at = self.monitoring_since + (value >> 2) / 10
            message = messages.get(slot)
            found.append(Check(at, _OUTCOMES[code], latency, str(message) if message else None))
        found.reverse()
        return found

    def _strip_snapshot(self, now: float) -> list[Any]:
        checks = self.checks()
        codes = "".join(_SNAPSHOT_CODES[(c.outcome, c.latency_ms is not None)] for c in checks)
        ages = [round(10 * (now - check.at)) for check in checks]
        messages = {str(n): c.message for n, c in enumerate(checks) if c.message is not None}
        return [codes, ages, messages]

    def _restore_strip(self, strip: list[Any] | None, now: float, age: float) -> None:
        """Take a strip from a snapshot taken `age` seconds ago (on another clock)."""
        self._strip, self._strip_next, self._strip_messages = None, 0, ()
        if not strip:
            return
        codes, ages, messages = strip
        for n, (code, tenths) in enumerate(zip(codes, ages, strict=True)):
            outcome = _SNAPSHOT_OUTCOMES[code]
            self._add_to_strip(
                HeartbeatResult(
                    self.service.service_id,
                    ok=outcome in (_OK_TIMED, _OK),
                    at=now - age - tenths / 10,
                    latency_ms=0.0 if outcome == _OK_TIMED else None,  # only its kind counts
                    message=messages.get(str(n)),
                    answered=outcome != _NO_ANSWER,
                )
            )

    def strip_code(self) -> str:
        """The last checks' outcomes, oldest first, one character each: "+" succeeded,
        "-" answered with an error, "x" no answer (what a list of thousands carries)."""
        strip = self._strip or _EMPTY_STRIP
        return "".join(_CODES[strip[slot] & 3] for slot in self._strip_order())

    def _strip_order(self) -> list[int]:
        """The used slots, oldest first."""
        strip = self._strip
        if strip is None:
            return []
        start = self._strip_next
        order = [*range(start, STRIP_LENGTH), *range(start)]
        return [slot for slot in order if strip[slot] != _UNUSED]

    def _add_to_strip(self, result: HeartbeatResult) -> None:
        if result.ok:
            code = _OK if result.latency_ms is None else _OK_TIMED
        else:
            code = _FAILED if result.answered else _NO_ANSWER
        if self._strip is None:
            self._strip = array("I", _EMPTY_STRIP)
        tenths = min(max(0, round(10 * (result.at - self.monitoring_since))), _UNUSED // 4 - 1)
        slot = self._strip_next
        self._strip[slot] = tenths * 4 + code
        self._strip_next = (slot + 1) % STRIP_LENGTH
        messages = self._strip_messages
        if slot in messages[::2]:
            at = 2 * messages[::2].index(slot)
            messages = messages[:at] + messages[at + 2 :]
        if not result.ok and result.message:
            messages += (slot, result.message[:STRIP_MESSAGE_CHARS])
        self._strip_messages = messages

    def _add_latency(self, latency_ms: float) -> None:
        # Recent samples are kept as 32-bit floats (memory); every statistic uses the value
        # as stored, so the minimum can never exceed the median by a rounding.
        _AS_FLOAT32[0] = latency_ms
        latency_ms = _AS_FLOAT32[0]
        self._latency_sum += latency_ms
        self._latency_count += 1
        self._latency_min = min(self._latency_min, latency_ms)
        self._latency_max = max(self._latency_max, latency_ms)
        if len(self._recent) < RECENT_SAMPLES:
            self._recent.append(latency_ms)
        else:
            self._recent[self._recent_next] = latency_ms
            self._recent_next = (self._recent_next + 1) % RECENT_SAMPLES

    def _mark_flap(self, now: float) -> None:
        marks = self._flap_marks
        if marks is None:
            marks = self._flap_marks = array("f")
        since = now - self.monitoring_since
        while marks and (since - marks[0] > FLAP_WINDOW_SECONDS or len(marks) >= MAX_FLAP_MARKS):
            marks.pop(0)
        marks.append(since)


def to_wall(moment: float | None, now: float, wall_now: float) -> float | None:
    """A monotonic moment as wall-clock seconds (what another process can read)."""
    return None if moment is None else round(wall_now - (now - moment), 3)


def to_local(moment: float | None, now: float, wall_now: float) -> float | None:
    """Wall-clock seconds as a moment on this process's monotonic clock."""
    return None if moment is None else now - (wall_now - moment)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 3)
