"""Monitoring: the live scores of stored forecasts against the actuals that arrived later, and the alert log.

Revision ID: 0004_monitoring
Revises: 0003_order_lines
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_monitoring"
down_revision = "0003_order_lines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "live_scores" not in existing:
        op.create_table(
            "live_scores",
            sa.Column("run_id", sa.String(length=64), nullable=False),
            sa.Column("series_id", sa.String(length=1219), nullable=False),
            sa.Column("model", sa.String(length=120), nullable=False),
            sa.Column("ds", sa.Date(), nullable=False),
            sa.Column("level", sa.String(length=20), nullable=False),
            sa.Column("step", sa.Integer(), nullable=False),
            sa.Column("y", sa.Float(), nullable=False),
            sa.Column("yhat", sa.Float(), nullable=False),
            sa.Column("scale", sa.Float(), nullable=True),
            sa.Column("in_80", sa.Integer(), nullable=True),
            sa.Column("in_95", sa.Integer(), nullable=True),
            sa.Column("scored_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("run_id", "series_id", "model", "ds"),
            sqlite_with_rowid=False,
        )
        op.create_index("ix_live_scores_ds", "live_scores", ["ds"])
    if "monitor_alerts" not in existing:
        op.create_table(
            "monitor_alerts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("fired_at", sa.DateTime(), nullable=False),
            sa.Column("rule", sa.String(length=100), nullable=False),
            sa.Column("kind", sa.String(length=30), nullable=False),
            sa.Column("severity", sa.String(length=20), nullable=False),
            sa.Column("subject", sa.String(length=1219), nullable=False),
            sa.Column("message", sa.Text(), nullable=False),
            sa.Column("value", sa.Float(), nullable=True),
            sa.Column("threshold", sa.Float(), nullable=True),
            sa.Column("run_id", sa.String(length=64), nullable=True),
            sa.Column("notified", sa.Text(), nullable=True),
            sa.Column("refresh_run_id", sa.String(length=64), nullable=True),
            sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
            sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_monitor_alerts_fired_at", "monitor_alerts", ["fired_at"])


def downgrade() -> None:
    op.drop_table("monitor_alerts")
    op.drop_table("live_scores")
