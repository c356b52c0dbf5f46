"""The GraphQL API (strawberry)."""

from ose_mesh.api.graphql.schema import schema

__all__ = ["schema"]
