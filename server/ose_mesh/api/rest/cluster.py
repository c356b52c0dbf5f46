"""The servers using the database and what each checks: GET /api/v1/cluster."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh.api.operations import Answer, Operation
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import use_cases


async def cluster(request: Request) -> JSONResponse:
    mesh = use_cases(request)
    found = await mesh.cluster.view()
    answer: models.Cluster = {
        "mode": found.mode,
        "replica_id": found.replica_id,
        "shards": found.shards,
        "services": found.services,
        "unowned_services": found.unowned_services,
        "replicas": [
            {
                "id": replica.replica_id,
                "host": replica.host,
                "started_at": replica.started_at.isoformat(),
                "last_seen": replica.last_seen.isoformat(),
                "owned_services": replica.owned_services,
                "shards": replica.shards,
                "this": replica.this,
            }
            for replica in found.replicas
        ],
    }
    return JSONResponse(answer)


operations = (
    Operation(
        "GET",
        "/api/v1/cluster",
        "getCluster",
        "The replicas serving this mesh and how many services each checks",
        "cluster",
        (Answer(200, models.Cluster, "The replicas"),),
        errors=(503,),
        endpoint=cluster,
    ),
)
