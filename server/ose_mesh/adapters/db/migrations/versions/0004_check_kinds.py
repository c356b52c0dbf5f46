"""More kinds of check: gRPC health (service name, TLS), certificate expiry warnings and
HTTP assertions

Revision ID: 0004
Revises: 0003
Created: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grpc_service", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("tls", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("cert_expiry_days", sa.Integer(), nullable=False, server_default="14")
        )
        batch_op.add_column(sa.Column("assertions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("assertions")
        batch_op.drop_column("cert_expiry_days")
        batch_op.drop_column("tls")
        batch_op.drop_column("grpc_service")
