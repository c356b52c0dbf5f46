"""Reaching the use cases from a resolver."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from ose_mesh.core.use_cases import UseCases


def mesh_of(info: Info[Any, Any]) -> UseCases:
    request = info.context["request"]
    mesh: UseCases = request.app.state.mesh
    return mesh
