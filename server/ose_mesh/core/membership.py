"""Who serves the database: every server holds a row in the replica table, renewed well
within its time to live, and leaves it when it stops.

Alone (the default) a server refuses to start beside any other live one: two lone servers on
one database would both probe everything. In cluster mode replicas share the database, and
refuse a lone server, or a second replica under the same id. A row left by a process that
is gone (killed, then restarted before its lease ran out) is no obstacle.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ose_mesh.core.ports import Replica, ReplicaRepository
from ose_mesh.domain import DomainError

log = logging.getLogger(__name__)

Mode = Literal["single", "cluster"]
LEASE_SECONDS = 5.0  # a cluster replica's row and shard leases
SINGLE_LEASE_SECONDS = 15.0


def default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ServerInUse(Exception):
    """Another live server uses the database in a way this one cannot join."""


@dataclass(frozen=True, slots=True)
class Identity:
    replica_id: str
    cluster: bool
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def mode(self) -> Mode:
        return "cluster" if self.cluster else "single"

    def as_replica(self) -> Replica:
        now = datetime.now(UTC)
        return Replica(self.replica_id, self.mode, self.host, self.pid, now, now, now)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Membership:
    """This server's row in the replica table: joined at startup, renewed, left at the end."""

    def __init__(
        self,
        replicas: ReplicaRepository,
        identity: Identity,
        *,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self._replicas = replicas
        self.identity = identity
        self._alive = alive
        self.lease_seconds = LEASE_SECONDS if identity.cluster else SINGLE_LEASE_SECONDS

    async def join(self) -> None:
        """Raises ServerInUse, naming the server in the way, when this one cannot join."""
        blocking = await self._replicas.join(
            self.identity.as_replica(), self.lease_seconds, stale=self._left_over
        )
        if blocking:
            raise ServerInUse(in_use_message(self.identity, blocking[0]))

    async def problem(self) -> str | None:
        """Why joining would be refused now, or None: a look before starting (`serve`
        says it in one line); join() decides."""
        for other in await self._replicas.replicas():
            if not self._left_over(other) and blocks(self.identity.as_replica(), other):
                return in_use_message(self.identity, other)
        return None

    def _left_over(self, other: Replica) -> bool:
        """A row of a process on this machine that is gone (killed, then restarted before
        its lease ran out), or this server's own row from before a restart that reused
        its process id (a container's pid 1)."""
        me = self.identity
        if other.host != me.host:
            return False
        if other.pid == me.pid:
            return other.replica_id == me.replica_id
        return not self._alive(other.pid)

    async def keep_alive(self) -> None:
        """Renew the row until cancelled (a single server; replicas renew in their tick)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                if not await self._replicas.renew(self.identity.replica_id, self.lease_seconds):
                    log.error("this server's row in the replica table was removed; rejoining")
                    await self.join()
            except (DomainError, ServerInUse) as exc:
                log.warning("could not renew this server's lease: %s", exc)

    async def leave(self) -> None:
        try:
            await self._replicas.leave(self.identity.replica_id)
        except DomainError as exc:
            log.warning("could not remove this server from the replica table: %s", exc)

    async def replicas(self) -> list[Replica]:
        return await self._replicas.replicas()


def blocks(joining: Replica, other: Replica) -> bool:
    """Whether a live `other` keeps `joining` out: a single server shares its database
    with no one, and no two replicas may have one id."""
    return (
        joining.mode == "single" or other.mode == "single" or other.replica_id == joining.replica_id
    )


def in_use_message(identity: Identity, other: Replica) -> str:
    seen = other.last_seen.strftime("%H:%M:%S UTC")
    who = f"{other.replica_id} (host {other.host}, pid {other.pid}, last seen {seen})"
    if other.replica_id == identity.replica_id:
        return f"another replica already uses the id {who}; give each its own --replica-id"
    if other.mode == "cluster":
        return (
            f"the database is used by the cluster replica {who}; start this server with"
            " --cluster (OSE_MESH_CLUSTER=true) to join it"
        )
    if identity.cluster:
        return (
            f"the database is used by the server {who}, which runs alone; restart it with"
            " --cluster before adding replicas"
        )
    return (
        f"the database is used by the server {who}; two servers on one database need"
        " --cluster (OSE_MESH_CLUSTER=true, PostgreSQL and RabbitMQ), or give this one its"
        " own DATABASE_URL"
    )
