"""The client side of the mesh, for the services it watches (no server code is imported):

- `HeartbeatClient` / `SyncHeartbeatClient`: register, then beat every interval in the
  background, carrying a check function's result;
- `HealthEndpoint` (with `sql_ping` and `ping`): a /health route for Starlette and FastAPI
  apps, in the shape the mesh's HTTP check and assertions read;
- `run_job`: what `ose-mesh run SERVICE_ID -- command…` does for cron jobs and scripts.
"""

from ose_mesh.client.health import HealthEndpoint, ping, sql_ping
from ose_mesh.client.heartbeat import CheckResult, HeartbeatClient, SyncHeartbeatClient
from ose_mesh.client.job import run_job

__all__ = [
    "CheckResult",
    "HealthEndpoint",
    "HeartbeatClient",
    "SyncHeartbeatClient",
    "ping",
    "run_job",
    "sql_ping",
]
