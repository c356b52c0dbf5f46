"""REST compatibility routes: thin handlers over the same use cases as GraphQL. Each module
has its table of operations (api/operations.py), from which its routes and the OpenAPI
document are made."""

from ose_mesh.api.rest import (
    cluster,
    dependencies,
    heartbeat,
    maintenance,
    messagebus,
    notifications,
    status_page,
    traces,
)
from ose_mesh.api.rest.errors import EXCEPTION_HANDLERS

OPERATIONS = (
    *heartbeat.operations,
    *dependencies.operations,
    *messagebus.operations,
    *cluster.operations,
    *status_page.operations,
    *maintenance.operations,
    *notifications.operations,
    *traces.operations,
)

__all__ = ["EXCEPTION_HANDLERS", "OPERATIONS"]
