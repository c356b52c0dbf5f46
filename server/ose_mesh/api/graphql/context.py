"""Reaching the core services from a resolver."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from ose_mesh.api.context import MeshServices


def mesh_of(info: Info[Any, Any]) -> MeshServices:
    request = info.context["request"]
    mesh: MeshServices = request.app.state.mesh
    return mesh
