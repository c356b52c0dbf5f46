"""Traffic observed in traces: per replica, per edge and per service; and health judged
from a service's server spans (check_type 'traces', trace_error_percent)

Revision ID: 0006
Revises: 0005
Created: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observed_traffic",
        sa.Column("replica_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("figures", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replica_id", "kind", "source", "target"),
    )
    op.create_index("ix_observed_traffic_updated_at", "observed_traffic", ["updated_at"])
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_error_percent", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("trace_error_percent")
    op.drop_index("ix_observed_traffic_updated_at", table_name="observed_traffic")
    op.drop_table("observed_traffic")
