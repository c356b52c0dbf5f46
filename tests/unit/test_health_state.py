"""The status state machine, transition by transition (DESIGN.md, "Domain semantics")."""

from __future__ import annotations

import pytest

from ose_mesh.core import HealthState
from ose_mesh.core.health_state import STRIP_LENGTH, STRIP_MESSAGE_CHARS
from ose_mesh.domain import CheckConfig, HealthStatus, HeartbeatResult, Service

H, DG, C, DD, U = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.CRITICAL,
    HealthStatus.DEAD,
    HealthStatus.UNKNOWN,
)


def make_state(**check: object) -> HealthState:
    config = CheckConfig(**{"interval_seconds": 10, "timeout_seconds": 30, **check})  # type: ignore[arg-type]
    return HealthState(Service("svc", "Svc", config), now=0.0)


def beat(
    state: HealthState,
    at: float,
    ok: bool = True,
    latency: float | None = 10.0,
    answered: bool = True,
) -> None:
    """A result: ok, an error the service answered with (HTTP 500), or no answer at all."""
    state.record(HeartbeatResult("svc", ok, at, latency if ok else None, None, answered))


def silence(state: HealthState, at: float) -> None:
    beat(state, at, ok=False, answered=False)


def test_unknown_until_the_first_result() -> None:
    state = make_state()
    assert state.status is U
    assert state.reevaluate(29.0) is None
    assert state.status is U


def test_first_success_is_healthy() -> None:
    state = make_state()
    beat(state, 1.0)
    assert state.status is H


def test_failures_degrade_then_turn_critical_at_max_failures() -> None:
    state = make_state(max_failures=3)
    beat(state, 1.0)
    seen = []
    for i in range(3):
        beat(state, 2.0 + i, ok=False)
        seen.append(state.status)
    assert seen == [DG, DG, C]
    assert state.consecutive_failures == 3


def test_dead_after_timeout_without_success_even_with_no_results() -> None:
    state = make_state(timeout_seconds=30)
    assert state.reevaluate(30.0) is None  # exactly the timeout is not "more than"
    assert state.reevaluate(30.01) is U
    assert state.status is DD


def test_dead_counts_from_the_last_answer_and_takes_precedence() -> None:
    state = make_state(timeout_seconds=30, max_failures=2)
    beat(state, 5.0)
    silence(state, 15.0)
    silence(state, 25.0)
    assert state.status is C
    silence(state, 35.5)
    assert state.status is DD


def test_a_service_answering_with_errors_is_critical_and_never_dead() -> None:
    """The reference's flow with the defaults: HTTP 500 every 10 s is degraded, then
    critical at the third failure (20 s), and stays critical: it answers."""
    state = make_state(interval_seconds=10, timeout_seconds=30, max_failures=3)
    seen = []
    for at in range(0, 301, 10):
        beat(state, float(at), ok=False)
        seen.append(state.status)
        assert state.reevaluate(at + 9.9) is None  # the timer finds it alive too
    assert seen[:3] == [DG, DG, C]
    assert set(seen[2:]) == {C}


def test_an_error_beat_keeps_a_push_service_alive() -> None:
    state = make_state(timeout_seconds=30)
    beat(state, 1.0)
    beat(state, 25.0, ok=False)  # pushed by the service itself: it is there
    assert state.reevaluate(40.0) is None
    assert state.status is DG
    assert state.reevaluate(55.01) is DG  # then silence for more than the timeout
    assert state.status is DD


def test_a_silent_service_is_dead_after_the_timeout() -> None:
    state = make_state(interval_seconds=10, timeout_seconds=30, max_failures=3)
    beat(state, 0.0)
    for at in (10.0, 20.0):
        silence(state, at)
        assert state.status is DG
    assert state.reevaluate(30.01) is DG
    assert state.status is DD


def test_one_success_recovers_by_default() -> None:
    state = make_state(max_failures=2)
    beat(state, 1.0, ok=False)
    beat(state, 2.0, ok=False)
    assert state.status is C
    beat(state, 3.0)
    assert state.status is H


def test_recovery_needs_recovery_successes_in_a_row() -> None:
    state = make_state(max_failures=2, recovery_successes=3)
    beat(state, 1.0, ok=False)
    beat(state, 2.0, ok=False)
    statuses = []
    for at in (3.0, 4.0, 5.0):
        beat(state, at)
        statuses.append(state.status)
    assert statuses == [DG, DG, H]


def test_a_failure_during_recovery_starts_it_over() -> None:
    state = make_state(max_failures=3, recovery_successes=2)
    beat(state, 1.0, ok=False)
    beat(state, 2.0)
    assert state.status is DG
    beat(state, 3.0, ok=False)
    beat(state, 4.0)
    assert state.status is DG
    beat(state, 5.0)
    assert state.status is H


def test_recovery_threshold_does_not_apply_before_any_failure() -> None:
    state = make_state(recovery_successes=5)
    beat(state, 1.0)
    assert state.status is H


def test_the_first_result_is_not_a_flap() -> None:
    state = make_state()
    beat(state, 1.0)
    assert state.flap_count(1.0) == 0
    beat(state, 2.0, ok=False)
    beat(state, 3.0)
    assert state.flap_count(3.0) == 2


def test_dead_service_recovers_on_success() -> None:
    state = make_state(timeout_seconds=30)
    state.reevaluate(31.0)
    assert state.status is DD
    beat(state, 32.0)
    assert state.status is H


def test_slow_success_is_degraded_under_a_latency_threshold() -> None:
    state = make_state(latency_threshold_ms=100)
    beat(state, 1.0, latency=150.0)
    assert state.status is DG
    beat(state, 2.0, latency=50.0)
    assert state.status is H


def test_record_returns_the_previous_status_only_on_change() -> None:
    state = make_state()
    beat(state, 1.0)
    assert state.record(HeartbeatResult("svc", True, 2.0, 5.0)) is None
    assert state.record(HeartbeatResult("svc", False, 3.0)) is H


def test_flapping_is_counted_over_the_last_hour() -> None:
    state = make_state(max_failures=1, timeout_seconds=7200, interval_seconds=10)
    for i in range(6):
        beat(state, 10.0 * i, ok=i % 2 == 0)
    assert state.flap_count(60.0) == 5  # 5 flips; unknown->healthy is not one
    assert state.flap_count(60.0 + 3600.0) == 0


def test_metrics_follow_the_reference_formula() -> None:
    state = make_state(max_failures=10)
    for i in range(148):
        beat(state, float(i), latency=10.0 + i % 3)
    beat(state, 148.0, ok=False)
    beat(state, 149.0, ok=False)
    assert state.heartbeat_count == 150
    assert state.missed_heartbeats == 2
    assert state.uptime_percentage == 98.67
    latency = state.latency()
    assert latency.min_ms == 10.0
    assert latency.max_ms == 12.0
    assert latency.average_ms == pytest.approx(11.0, abs=0.01)
    assert latency.p50_ms == 11.0
    assert latency.p99_ms == 12.0


def test_recent_latencies_are_bounded_and_in_order() -> None:
    state = make_state()
    for i in range(200):
        beat(state, float(i), latency=float(i))
    recent = state.recent_latencies()
    assert len(recent) == 64
    assert recent == [float(i) for i in range(136, 200)]


# -- the strip of beats: the last checks ----------------------------------------------------


def mixed_checks(state: HealthState, count: int) -> list[tuple[float, str]]:
    """`count` checks one second apart, cycling through the outcomes; what each was."""
    made = []
    for n in range(count):
        at = float(n + 1)
        kind = ("ok", "ok", "failed", "no_answer", "quiet_ok")[n % 5]
        if kind == "failed":
            state.record(HeartbeatResult("svc", False, at, None, f"HTTP 503 #{n} " + "y" * 300))
        elif kind == "no_answer":
            silence(state, at)
        else:
            state.record(HeartbeatResult("svc", True, at, None if kind == "quiet_ok" else n * 1.5))
        made.append((at, "ok" if kind == "quiet_ok" else kind))
    return made


@pytest.mark.parametrize("count", [0, 1, STRIP_LENGTH - 1, STRIP_LENGTH, STRIP_LENGTH + 7, 200])
def test_the_strip_keeps_the_last_checks_oldest_first(count: int) -> None:
    state = make_state()
    made = mixed_checks(state, count)[-STRIP_LENGTH:]
    checks = state.checks()
    assert [(c.at, c.outcome) for c in checks] == made
    code = {"ok": "+", "failed": "-", "no_answer": "x"}
    assert state.strip_code() == "".join(code[outcome] for _, outcome in made)
    for check in checks:
        if check.outcome == "failed":
            assert check.message is not None
            assert check.message.startswith("HTTP 503")
            assert len(check.message) == STRIP_MESSAGE_CHARS  # bounded, whatever a beat sends
        else:
            assert check.message is None
        if check.outcome == "ok" and check.latency_ms is not None:
            assert check.latency_ms == (check.at - 1) * 1.5


def test_a_healthy_service_keeps_no_messages_for_its_strip() -> None:
    state = make_state()
    for n in range(STRIP_LENGTH * 2):
        state.record(HeartbeatResult("svc", True, float(n), 5.0, "HTTP 200"))
    assert all(check.message is None for check in state.checks())
    assert state._strip_messages == ()  # memory: nothing kept for the good news


def test_the_strip_survives_a_snapshot_taken_by_another_replica() -> None:
    state = make_state()
    mixed_checks(state, STRIP_LENGTH + 3)
    copy = make_state()
    # The other process's clocks: its monotonic clock reads 500 s less at the same moment.
    copy.restore(state.snapshot(now=100.0, wall_now=10_000.0), now=-400.0, wall_now=10_000.0)
    assert [(c.at + 500, c.outcome, c.latency_ms, c.message) for c in copy.checks()] == [
        (pytest.approx(c.at), c.outcome, c.latency_ms, c.message) for c in state.checks()
    ]
    assert copy.strip_code() == state.strip_code()
