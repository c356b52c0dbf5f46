"""REST compatibility routes: thin handlers over the same core services as GraphQL."""

from ose_mesh.api.rest.dependencies import routes as dependency_routes
from ose_mesh.api.rest.errors import EXCEPTION_HANDLERS
from ose_mesh.api.rest.heartbeat import routes as heartbeat_routes
from ose_mesh.api.rest.messagebus import routes as messagebus_routes

__all__ = ["EXCEPTION_HANDLERS", "dependency_routes", "heartbeat_routes", "messagebus_routes"]
