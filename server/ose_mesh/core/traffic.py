"""Rolling traffic figures of one edge (or of one service's server spans) in fixed memory.

Calls are counted into two rings of slots: five one-minute slots (the last 5 minutes) and
twelve five-minute slots (the last hour). Each slot holds the number of calls, of failed
calls, of failed calls whose caller failed too, and a latency histogram with buckets √2
apart (so a percentile read from it is within 19 % of the true one). Nothing grows with the
number of calls: about 2.7 KB per edge, whatever the traffic.

The rings are serialised as bytes (compressed: mostly zeros), so replicas can add up each
other's figures (cluster mode).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import struct
import zlib
from array import array
from dataclasses import dataclass

BUCKETS = 36
SMALLEST_MS = 0.1  # bucket i holds latencies up to SMALLEST_MS * √2**i; the last, the rest
FIELDS = 3 + BUCKETS  # calls, errors, propagated, then the histogram
MINUTE_SLOTS = 5
BLOCK_SLOTS = 12
BLOCK_MINUTES = 5
_HEADER = struct.Struct("<Bdd")  # layout version, first seen, last seen
_LAYOUT = 2  # the rings zlib-compressed: mostly zeros, ~2.7 KB become ~0.4 KB
_RINGS_BYTES = 4 * (MINUTE_SLOTS + MINUTE_SLOTS * FIELDS + BLOCK_SLOTS + BLOCK_SLOTS * FIELDS)
_CALLS, _ERRORS, _PROPAGATED = 0, 1, 2


def bucket_of(latency_ms: float) -> int:
    if latency_ms <= SMALLEST_MS:
        return 0
    return min(BUCKETS - 1, math.ceil(2 * math.log2(latency_ms / SMALLEST_MS)))


def bucket_bound(index: int) -> float:
    return SMALLEST_MS * math.sqrt(2) ** index


# What a latency in each bucket is read as: the geometric middle of its bounds.
_MIDDLES = tuple(
    round(math.sqrt(bucket_bound(i - 1) * bucket_bound(i)) if i else bucket_bound(0), 3)
    for i in range(BUCKETS)
)


@dataclass(frozen=True, slots=True)
class Totals:
    """The sums over a window, from one replica or added up over several."""

    calls: int
    errors: int
    propagated: int
    histogram: tuple[int, ...]
    seconds: float  # how long the window has covered

    @property
    def rate(self) -> float:
        """Calls per second."""
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    def percentile(self, fraction: float) -> float | None:
        """The latency (ms) under which `fraction` of the calls fell, from the histogram:
        the geometric middle of the bucket it falls in."""
        if not self.calls:
            return None
        cumulative = list(itertools.accumulate(self.histogram))
        index = bisect.bisect_left(cumulative, fraction * self.calls)
        return _MIDDLES[min(index, BUCKETS - 1)]

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.calls + other.calls,
            self.errors + other.errors,
            self.propagated + other.propagated,
            tuple(map(operator.add, self.histogram, other.histogram)),
            max(self.seconds, other.seconds),
        )


NO_TOTALS = Totals(0, 0, 0, (0,) * BUCKETS, 0.0)


class Traffic:
    """The two rings of one edge, with when it was first and last seen (Unix seconds)."""

    __slots__ = ("blocks", "first_seen", "last_seen", "minutes")

    def __init__(self, now: float) -> None:
        self.first_seen = now
        self.last_seen = now
        # Each ring: its slots' period numbers, then FIELDS counters per slot.
        self.minutes = array("I", bytes(4 * (MINUTE_SLOTS + MINUTE_SLOTS * FIELDS)))
        self.blocks = array("I", bytes(4 * (BLOCK_SLOTS + BLOCK_SLOTS * FIELDS)))

    def add(self, now: float, latency_ms: float, error: bool, propagated: bool = False) -> None:
        self.last_seen = max(self.last_seen, now)
        minute = int(now // 60)
        bucket = 3 + bucket_of(latency_ms)
        for ring, slots, period in (
            (self.minutes, MINUTE_SLOTS, minute),
            (self.blocks, BLOCK_SLOTS, minute // BLOCK_MINUTES),
        ):
            base = _slot(ring, slots, period)
            ring[base + _CALLS] += 1
            ring[base + bucket] += 1
            if error:
                ring[base + _ERRORS] += 1

    def add_propagated(self, now: float) -> None:
        """A failed call whose caller failed too (counted apart: it arrives later)."""
        minute = int(now // 60)
        self.minutes[_slot(self.minutes, MINUTE_SLOTS, minute) + _PROPAGATED] += 1
        block = minute // BLOCK_MINUTES
        self.blocks[_slot(self.blocks, BLOCK_SLOTS, block) + _PROPAGATED] += 1

    def totals(self, now: float, window_minutes: int) -> Totals:
        """Sums over the last 1 to 5 minutes (by minute) or the last hour (60, by five
        minutes)."""
        minute = int(now // 60)
        if window_minutes <= MINUTE_SLOTS:
            ring, slots, period, span = self.minutes, MINUTE_SLOTS, minute, 60
            covered = max(1, window_minutes)
        else:
            ring, slots, period, span = self.blocks, BLOCK_SLOTS, minute // BLOCK_MINUTES, 300
            covered = BLOCK_SLOTS
        sums = [0] * FIELDS
        for index in range(slots):
            if period - covered < ring[index] <= period:
                base = slots + index * FIELDS
                sums = list(map(operator.add, sums, ring[base : base + FIELDS]))  # in C
        window_start = (period - covered + 1) * span
        seconds = now - max(window_start, self.first_seen)
        return Totals(sums[0], sums[1], sums[2], tuple(sums[3:]), max(1.0, seconds))

    # -- between replicas ----------------------------------------------------------------

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_LAYOUT, self.first_seen, self.last_seen)
        return header + zlib.compress(self.minutes.tobytes() + self.blocks.tobytes(), 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> Traffic | None:
        """A ring written by to_bytes, or None if it is not one (another layout)."""
        if len(data) <= _HEADER.size or data[0] != _LAYOUT:
            return None
        _, first_seen, last_seen = _HEADER.unpack_from(data)
        inflater = zlib.decompressobj()
        try:
            rings = inflater.decompress(data[_HEADER.size :], _RINGS_BYTES + 1)
        except zlib.error:
            return None
        if len(rings) != _RINGS_BYTES or not inflater.eof:
            return None
        traffic = cls(first_seen)
        traffic.last_seen = last_seen
        split = 4 * len(traffic.minutes)
        traffic.minutes = array("I", rings[:split])
        traffic.blocks = array("I", rings[split:])
        return traffic


def _slot(ring: array[int], slots: int, period: int) -> int:
    """Where the counters of `period` start, emptying the slot if it held an older one."""
    index = period % slots
    base = slots + index * FIELDS
    if ring[index] != period:
        ring[index] = period
        for field in range(FIELDS):
            ring[base + field] = 0
    return base
