"""The schema a client sees is the schema we publish: graphql-js prints the committed
schema.graphql and the live introspection identically, introspection answers without an
error, and every type, field, argument and enum value has a description."""

from __future__ import annotations

from pathlib import Path

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    get_introspection_query,
)

from ose_mesh.api.graphql import schema
from tests.api.test_exports_with_real_libraries import run_node

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


async def test_the_file_and_the_live_schema_print_the_same(client: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, input_value_deprecation=True
    )
    answer = (await client.post("/graphql", json={"query": query})).json()
    assert "errors" not in answer
    printed = run_node(
        "print-schema.mjs", {"sdl": SCHEMA_FILE.read_text(), "introspection": answer["data"]}
    )
    assert printed["file"] == printed["live"]


def test_everything_public_is_described() -> None:
    undescribed = []
    for name, named in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not named.description:
            undescribed.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not field.description:
                    undescribed.append(f"{name}.{field_name}")
                for argument, value in getattr(field, "args", {}).items():
                    if not value.description:
                        undescribed.append(f"{name}.{field_name}({argument})")
        if isinstance(named, GraphQLEnumType):
            undescribed += [f"{name}.{v}" for v, e in named.values.items() if not e.description]
    assert undescribed == []
