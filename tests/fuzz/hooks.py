"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.fuzz.hooks): values for our JSON scalar."""

from __future__ import annotations

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes


def _object(fields: dict[str, int]) -> graphql.ObjectValueNode:
    """A GraphQL object literal such as {a: 1, b: -2}."""
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=nodes.Int(value))
            for key, value in fields.items()
        ]
    )


# JSON arguments (event payloads and metadata) are objects.
schemathesis.graphql.scalar(
    "JSON",
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.integers(-5, 5), max_size=3
    ).map(_object),
)
