"""Order lines: one row per line of an imported order export (``cli.py ingest orders``, data/orders.py).

Revision ID: 0003_order_lines
Revises: 0002_sessions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_order_lines"
down_revision = "0002_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "order_lines" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("discount", sa.Float(), nullable=True),
        sa.Column("is_return", sa.Integer(), nullable=False),
        sa.Column("matched_order", sa.String(length=200), nullable=True),
        sa.Column("matched_line", sa.Integer(), nullable=True),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line"),
    )
    op.create_index("ix_order_lines_customer", "order_lines", ["customer"])
    op.create_index("ix_order_lines_date", "order_lines", ["date"])
    op.create_index("ix_order_lines_product", "order_lines", ["product"])


def downgrade() -> None:
    op.drop_table("order_lines")
