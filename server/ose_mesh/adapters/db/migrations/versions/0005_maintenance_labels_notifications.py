"""Maintenance windows, labels on services (what windows and notification rules select
services by), and notification targets

Revision ID: 0005
Revises: 0004
Created: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))
    op.create_table(
        "maintenance_windows",
        sa.Column("window_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_ids", sa.JSON(), nullable=False),
        sa.Column("cluster", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("window_id"),
    )
    op.create_table(
        "notification_targets",
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("shown_url", sa.Text(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("target_id"),
    )
    op.create_table(
        "notification_told",
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("target_id", "service_id"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("target_id"),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_told")
    op.drop_table("notification_targets")
    op.drop_table("maintenance_windows")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("labels")
