"""What GET /api/v1/cluster and GraphQL `cluster` show: the servers using the database and
how many services each checks (core/membership.py, core/shards.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ose_mesh.core.membership import Membership, Mode
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import ShardRepository
from ose_mesh.core.shards import SHARDS, shard_of


@dataclass(frozen=True, slots=True)
class ReplicaView:
    replica_id: str
    host: str
    started_at: datetime
    last_seen: datetime
    owned_services: int
    shards: int
    this: bool  # the replica that answers


@dataclass(frozen=True, slots=True)
class ClusterView:
    mode: Mode
    replica_id: str  # the replica that answers
    shards: int
    services: int
    unowned_services: int  # in a shard no live replica holds (a takeover under way)
    replicas: list[ReplicaView]


class ClusterQueries:
    """The servers using the database and what each checks (GET /api/v1/cluster)."""

    def __init__(
        self,
        membership: Membership,
        monitor: HeartbeatMonitor,
        leases: ShardRepository | None,
    ) -> None:
        self._membership = membership
        self._monitor = monitor
        self._leases = leases

    async def view(self) -> ClusterView:
        identity = self._membership.identity
        replicas = await self._membership.replicas()
        service_ids = list(self._monitor.names())
        if self._leases is None:
            owners = dict.fromkeys(range(SHARDS), identity.replica_id)
        else:
            owners = await self._leases.shard_owners()
        owned: dict[str, int] = {}
        unowned = 0
        for service_id in service_ids:
            owner = owners.get(shard_of(service_id))
            if owner is None:
                unowned += 1
            else:
                owned[owner] = owned.get(owner, 0) + 1
        shards_held: dict[str, int] = {}
        for owner in owners.values():
            shards_held[owner] = shards_held.get(owner, 0) + 1
        return ClusterView(
            mode=identity.mode,
            replica_id=identity.replica_id,
            shards=SHARDS if self._leases is not None else 0,
            services=len(service_ids),
            unowned_services=unowned,
            replicas=[
                ReplicaView(
                    replica_id=replica.replica_id,
                    host=replica.host,
                    started_at=replica.started_at,
                    last_seen=replica.last_seen,
                    owned_services=owned.get(replica.replica_id, 0),
                    shards=shards_held.get(replica.replica_id, 0) if self._leases else 0,
                    this=replica.replica_id == identity.replica_id,
                )
                for replica in replicas
            ],
        )
