"""The first schema: services, transitions, rollups, dependencies, outbox

Revision ID: 0001
Revises:
Created: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dependencies",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", "target"),
    )
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(length=255), nullable=False),
        sa.Column("routing_key", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("source_service", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_metadata", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "heartbeat_rollups",
        sa.Column("service_id", sa.String(length=200), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_samples", sa.Integer(), nullable=False),
        sa.Column("latency_max_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "minute"),
    )
    op.create_table(
        "services",
        sa.Column("service_id", sa.String(length=200), nullable=False),
        sa.Column("service_name", sa.String(length=200), nullable=False),
        sa.Column("cluster", sa.String(length=200), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check_type", sa.String(length=16), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_failures", sa.Integer(), nullable=False),
        sa.Column("probe_timeout_seconds", sa.Float(), nullable=False),
        sa.Column("recovery_successes", sa.Integer(), nullable=False),
        sa.Column("latency_threshold_ms", sa.Float(), nullable=True),
        sa.Column("health_url", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("service_id"),
    )
    op.create_table(
        "status_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=200), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("current", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("root_causes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_transitions_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_status_transitions_service_id"), ["service_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("status_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_transitions_service_id"))
        batch_op.drop_index(batch_op.f("ix_status_transitions_at"))

    op.drop_table("status_transitions")
    op.drop_table("services")
    op.drop_table("heartbeat_rollups")
    op.drop_table("event_outbox")
    op.drop_table("dependencies")
