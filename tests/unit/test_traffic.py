"""Rolling traffic figures: windows that roll over, percentiles from the histogram, and the
bytes replicas exchange."""

from __future__ import annotations

import random
import sys
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ose_mesh.core.traffic import BUCKETS, NO_TOTALS, Traffic, bucket_bound, bucket_of

T0 = 1_800_000_000.0  # a whole minute (and five) of Unix time


def test_calls_leave_the_five_minute_window_and_stay_in_the_hour() -> None:
    traffic = Traffic(T0)
    for _ in range(10):
        traffic.add(T0 + 1, 20.0, error=False)
    traffic.add(T0 + 2, 20.0, error=True)
    assert traffic.totals(T0 + 30, 5).calls == 11
    assert traffic.totals(T0 + 30, 5).errors == 1
    later = T0 + 6 * 60
    assert traffic.totals(later, 5).calls == 0
    assert traffic.totals(later, 60).calls == 11
    assert traffic.totals(T0 + 61 * 60, 60).calls == 0


def test_a_slot_reused_after_its_period_starts_empty() -> None:
    traffic = Traffic(T0)
    traffic.add(T0, 5.0, error=True)
    traffic.add(T0 + 5 * 60, 5.0, error=False)  # the same minute slot, five minutes on
    totals = traffic.totals(T0 + 5 * 60, 1)
    assert (totals.calls, totals.errors) == (1, 0)


def test_the_rate_counts_only_the_time_the_edge_has_been_seen() -> None:
    traffic = Traffic(T0 + 30)
    for _ in range(60):
        traffic.add(T0 + 40, 1.0, error=False)
    assert traffic.totals(T0 + 60, 5).rate == pytest.approx(2.0)


@given(st.lists(st.floats(min_value=0.05, max_value=20_000), min_size=1, max_size=300))
def test_percentiles_are_within_a_bucket_of_the_true_ones(latencies: list[float]) -> None:
    traffic = Traffic(T0)
    for latency in latencies:
        traffic.add(T0, latency, error=False)
    totals = traffic.totals(T0, 5)
    ordered = sorted(latencies)
    for fraction in (0.5, 0.95):
        true = ordered[max(0, int(fraction * len(ordered) + 0.999999) - 1)]
        shown = totals.percentile(fraction)
        assert shown is not None
        assert bucket_bound(bucket_of(true) - 1) * 0.999 <= shown <= bucket_bound(bucket_of(true))


def test_no_calls_have_no_percentile() -> None:
    assert NO_TOTALS.percentile(0.5) is None
    assert Traffic(T0).totals(T0, 60).percentile(0.95) is None


def test_the_bytes_between_replicas_give_the_same_figures() -> None:
    traffic = Traffic(T0)
    rng = random.Random(7)
    for second in range(0, 900, 3):
        traffic.add(T0 + second, rng.uniform(1, 500), error=rng.random() < 0.1)
        if rng.random() < 0.05:
            traffic.add_propagated(T0 + second)
    copy = Traffic.from_bytes(traffic.to_bytes())
    assert copy is not None
    for window in (1, 5, 60):
        assert copy.totals(T0 + 900, window) == traffic.totals(T0 + 900, window)
    assert (copy.first_seen, copy.last_seen) == (traffic.first_seen, traffic.last_seen)


HEADER = b"\x02" + bytes(16)  # this layout, first and last seen


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x02" + bytes(5000),  # not zlib
        b"\x01" * 17,  # an older layout
        b"x" * 2721,
        HEADER + zlib.compress(bytes(10_000_000)),  # a bomb: inflated no further than a ring
        HEADER + zlib.compress(bytes(100)),  # too short
        HEADER + zlib.compress(bytes(2720))[:-4],  # cut short
    ],
)
def test_bytes_of_another_layout_are_refused(garbage: bytes) -> None:
    assert Traffic.from_bytes(garbage) is None


def test_totals_of_two_replicas_add_up() -> None:
    one, two = Traffic(T0), Traffic(T0)
    one.add(T0, 3.0, error=True)
    two.add(T0, 3.0, error=False)
    two.add(T0, 300.0, error=False)
    both = one.totals(T0, 5) + two.totals(T0, 5)
    assert (both.calls, both.errors) == (3, 1)
    assert both.error_rate == pytest.approx(1 / 3)
    assert len(both.histogram) == BUCKETS


def test_memory_does_not_grow_with_calls() -> None:
    traffic = Traffic(T0)
    size = sys.getsizeof(traffic.minutes) + sys.getsizeof(traffic.blocks)
    for second in range(3600):
        traffic.add(T0 + second, 10.0 + second, error=second % 2 == 0)
    assert sys.getsizeof(traffic.minutes) + sys.getsizeof(traffic.blocks) == size
