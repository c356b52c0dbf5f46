"""GraphQL for the servers using the database: `cluster { replicas { … } }`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from ose_mesh.api.graphql.context import mesh_of


@strawberry.type
class Replica:
    id: strawberry.ID
    host: str
    started_at: datetime
    last_seen: datetime
    owned_services: int
    shards: int
    this: bool


@strawberry.type(name="MeshCluster")  # "Cluster" is a group of the dependency graph
class MeshCluster:
    mode: str
    replica_id: str
    shards: int
    services: int
    unowned_services: int
    replicas: list[Replica]


@strawberry.type
class ClusterQuery:
    @strawberry.field
    async def cluster(self, info: Info) -> MeshCluster:
        found = await mesh_of(info).cluster.view()
        return MeshCluster(
            mode=found.mode,
            replica_id=found.replica_id,
            shards=found.shards,
            services=found.services,
            unowned_services=found.unowned_services,
            replicas=[
                Replica(
                    id=strawberry.ID(replica.replica_id),
                    host=replica.host,
                    started_at=replica.started_at,
                    last_seen=replica.last_seen,
                    owned_services=replica.owned_services,
                    shards=replica.shards,
                    this=replica.this,
                )
                for replica in found.replicas
            ],
        )
