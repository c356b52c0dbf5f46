"""REST compatibility routes: thin handlers over the same core services as GraphQL."""

from ose_mesh.api.rest.errors import EXCEPTION_HANDLERS
from ose_mesh.api.rest.heartbeat import routes as heartbeat_routes

__all__ = ["EXCEPTION_HANDLERS", "heartbeat_routes"]
