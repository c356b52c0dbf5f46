"""Alembic's entry point: migrations run on the connection the server hands over."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import ose_mesh.adapters.db.tables  # noqa: F401 (defines the tables on SQLModel.metadata)


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write sqlmodel's AutoString as the plain sa.String it is, so that migrations need
    only SQLAlchemy."""
    if kind == "type" and isinstance(item, AutoString):
        return f"sa.String(length={item.length!r})"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it; batch mode does that
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
