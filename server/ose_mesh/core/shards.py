"""Cluster mode: which replica checks which service.

The services are split into SHARDS by a hash of their id, and each shard is held by one
replica under a lease with an owner, an expiry and an epoch:

- every tick a replica renews what it holds and takes free or expired shards up to its
  fair share (shards / live replicas, rounded up); what it holds beyond that share it stops
  checking first, then gives back; so a replica joining or leaving moves only a share;
- a replica that cannot renew stops checking its services before its leases can expire
  (LEASE_SAFETY_SECONDS ahead, on its own monotonic clock), so two replicas act on one
  service for no longer than the clocks of the machines disagree;
- the state a new owner continues from is written by the owner on every transition and at
  least every STATE_FLUSH_SECONDS, fenced by the epoch (a former owner's writes are refused).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from ose_mesh.core.membership import LEASE_SECONDS, Membership, ServerInUse
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import Clock, ShardRepository, StateRepository
from ose_mesh.domain import DomainError

log = logging.getLogger(__name__)

SHARDS = 128
TICK_SECONDS = 1.0
# A replica stops acting this long before its leases could expire in the database.
LEASE_SAFETY_SECONDS = 1.5
STATE_FLUSH_SECONDS = 2.0


def shard_of(service_id: str) -> int:
    """The shard of a service: the same in every process (unlike hash()), and spread even
    for ids that differ in one character (CRC32 is linear: "svc-0".."svc-9" all fell into
    one half of the shards, so one replica got them all)."""
    digest = hashlib.blake2b(service_id.encode("utf-8", "surrogatepass"), digest_size=4)
    return int.from_bytes(digest.digest(), "big") % SHARDS


class ShardOwner:
    """Holds this replica's shards and tells the monitor which services to check."""

    def __init__(
        self,
        membership: Membership,
        leases: ShardRepository,
        states: StateRepository,
        monitor: HeartbeatMonitor,
        clock: Clock,
    ) -> None:
        self.identity = membership.identity
        self._membership = membership
        self._leases = leases
        self._states = states
        self._monitor = monitor
        self._clock = clock
        self._held: dict[int, int] = {}  # shard -> epoch
        self._valid_until = 0.0  # monotonic: act on the held shards until then
        self._owners: dict[int, str] = {}  # every shard's owner, as of the last tick
        self._nudge = asyncio.Event()
        self._state_written = asyncio.Event()
        self.takeovers = 0  # shards taken from another replica or from no one
        # Told the snapshots written (the cluster link sends them to the other replicas).
        self.on_states: Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]] | None = None
        # Told the services of shards just taken (notifications go on where they were).
        self.on_adopt: Callable[[list[str]], None] | None = None

    # -- what the monitor asks -----------------------------------------------------------

    def owns(self, service_id: str) -> bool:
        return shard_of(service_id) in self._held and self._clock.monotonic() < self._valid_until

    def epoch_of(self, service_id: str) -> int:
        return self._held.get(shard_of(service_id), 0)

    def owner_of(self, service_id: str) -> str | None:
        """The replica that checks the service, as of the last tick (None: nobody yet)."""
        if self.owns(service_id):
            return self.identity.replica_id
        owner = self._owners.get(shard_of(service_id))
        return None if owner == self.identity.replica_id else owner

    def held_shards(self) -> dict[int, int]:
        return dict(self._held)

    def owned_services(self) -> int:
        return sum(1 for state in self._monitor.states() if self.owns(state.service.service_id))

    def nudge(self) -> None:
        """Run a tick now (a replica left: its shards are free)."""
        self._nudge.set()

    # -- the ticks -----------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.tick()
            self._nudge.clear()
            try:
                async with asyncio.timeout(TICK_SECONDS):
                    await self._nudge.wait()
            except TimeoutError:
                pass

    async def tick(self) -> None:
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(LEASE_SECONDS - LEASE_SAFETY_SECONDS):
                held, fair = await self._leases.balance(
                    self.identity.replica_id, SHARDS, LEASE_SECONDS
                )
                self._owners = await self._leases.shard_owners()
        except (DomainError, TimeoutError) as exc:
            if self._held and self._clock.monotonic() >= self._valid_until:
                log.error("cannot renew the shard leases (%s): stopping all checks", exc)
                self._drop(set(self._held))
            return
        if fair == 0:  # this replica's row is gone: it was taken for dead (a long cut)
            self._drop(set(self._held))
            log.warning("%s was taken for dead; joining again", self.identity.replica_id)
            try:
                await self._membership.join()
            except (DomainError, ServerInUse) as exc:
                log.error("%s cannot join again: %s", self.identity.replica_id, exc)
            return
        if self._held and started >= self._valid_until:
            log.warning(
                "%s renewed its leases late: checks paused meanwhile", self.identity.replica_id
            )
        self._valid_until = started + LEASE_SECONDS - LEASE_SAFETY_SECONDS
        lost = {s for s, epoch in self._held.items() if held.get(s) != epoch}
        self._drop(lost)
        if len(held) > fair:
            surplus = sorted(held)[fair:]
            for shard in surplus:
                del held[shard]
            await self._hand_over(set(surplus))
        gained = {s: epoch for s, epoch in held.items() if s not in self._held}
        if gained:
            await self._adopt(gained)

    async def _hand_over(self, shards: set[int]) -> None:
        """Stop checking the services of `shards`, write their state (the leases are still
        held, so the writes pass the fence), then give the shards back: the next owner
        continues exactly where this one stopped."""
        shards = shards & self._held.keys()
        rows = [
            (
                shard_of(sid),
                self._held[shard_of(sid)],
                sid,
                self._monitor.state(sid).status,
                self._monitor.snapshot(sid),
            )
            for sid in self._services_in(shards)
        ]
        self._drop(shards)
        try:
            await self._states.save_states(self.identity.replica_id, rows)
        finally:
            await self._leases.release_shards(self.identity.replica_id, sorted(shards))

    def _drop(self, shards: set[int]) -> None:
        if not shards:
            return
        for service_id in self._services_in(shards):
            self._monitor.release(service_id)
        for shard in shards:
            self._held.pop(shard, None)
        log.info("%s: gave up %d shards", self.identity.replica_id, len(shards))

    async def _adopt(self, gained: dict[int, int]) -> None:
        stored = await self._states.load_states(self._services_in(gained.keys()))
        self._held.update(gained)
        # Listed again: a service registered while the states were read was watched as
        # another replica's (the shard was not held yet), and is scheduled only here.
        services = self._services_in(gained.keys())
        self.takeovers += len(gained)
        for service_id in services:
            found = stored.get(service_id)
            self._monitor.adopt(service_id, None if found is None else found.snapshot)
        if self.on_adopt is not None:
            self.on_adopt(services)
        log.info(
            "%s: took %d shards (%d services)", self.identity.replica_id, len(gained), len(services)
        )

    def _services_in(self, shards: Collection[int]) -> list[str]:
        return [
            state.service.service_id
            for state in self._monitor.states()
            if shard_of(state.service.service_id) in shards
        ]

    async def load_mirrors(self) -> int:
        """Take every service's last written state (at start: until their owners report,
        the services another replica checks show what it last wrote, not `unknown`)."""
        services = [state.service.service_id for state in self._monitor.states()]
        stored = await self._states.load_states(services)
        return sum(self._monitor.mirror(sid, found.snapshot) for sid, found in stored.items())

    async def release_all(self) -> None:
        """Hand every shard over (a replica stopping: the others take them on their next
        tick, which the stop message brings forward)."""
        await self._hand_over(set(self._held))
        self._valid_until = 0.0
        await self._leases.release_shards(self.identity.replica_id)

    # -- the state a new owner continues from ---------------------------------------------

    def state_changed(self) -> None:
        """A transition: write the states now rather than at the next flush."""
        self._state_written.set()

    async def keep_states_written(self) -> None:
        while True:
            self._state_written.clear()
            try:
                async with asyncio.timeout(STATE_FLUSH_SECONDS):
                    await self._state_written.wait()
            except TimeoutError:
                pass
            await self.write_states()

    async def write_states(self) -> int:
        changed = self._monitor.take_changed()
        rows = [
            (shard_of(service_id), self.epoch_of(service_id), service_id, status, snapshot)
            for service_id, status, snapshot in changed
        ]
        try:
            written = await self._states.save_states(self.identity.replica_id, rows)
        except DomainError as exc:
            log.warning("could not write %d service states: %s", len(rows), exc)
            self._monitor.mark_changed(service_id for service_id, _, _ in changed)
            return 0
        if self.on_states is not None and changed:
            await self.on_states([(service_id, snapshot) for service_id, _, snapshot in changed])
        return written
