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
    # Before the dependencies': /api/v1/dependencies/drift/accept also fits the pattern
    # /api/v1/dependencies/{source}/{target}, and the first route a path fits says which
    # methods it allows.
    *traces.operations,
    *dependencies.operations,
    *messagebus.operations,
    *cluster.operations,
    *status_page.operations,
    *maintenance.operations,
    *notifications.operations,
)

__all__ = ["EXCEPTION_HANDLERS", "OPERATIONS"]
