"""Initial schema: every table of the store as of the Serve release, including users, api_tokens and audit_log
(the login sessions came with 0002).

Revision ID: 0001_initial
Revises: (none)

A baseline that adopts the databases made before migrations existed: it creates only the tables (with their
indexes) that are missing, so a database from the previous release keeps every row and gains the account tables.
The tables are a frozen copy (not ``data.schema``): later schema changes get their own revisions.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def frozen_metadata() -> sa.MetaData:
    """The tables of this revision.

    Long because it declares all 25 tables, one column a line, as SQLAlchemy's autogenerate rendered them.
    """
    metadata = sa.MetaData()
    sa.Table('agg_sales', metadata,
        sa.Column('node_id', sa.String(length=1219), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('sales', sa.Float(), nullable=False),
        sa.Column('units', sa.Float(), nullable=True),
        sa.Column('promo_share', sa.Float(), nullable=True),
        sa.Column('open_share', sa.Float(), nullable=True),
        sa.Column('n_rows', sa.Integer(), nullable=False),
        sa.Column('is_holiday', sa.Integer(), nullable=False),
        sa.Column('temp_c', sa.Float(), nullable=True),
        sa.Column('precip_mm', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('node_id', 'date'),
        sqlite_with_rowid=False
    )
    sa.Index('ix_agg_level_date', metadata.tables['agg_sales'].c.level, metadata.tables['agg_sales'].c.date)
    sa.Table('analysis_results', metadata,
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('level', sa.String(length=40), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('data_hash', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name', 'level')
    )
    sa.Table('audit_log', metadata,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=60), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_audit_log_at', metadata.tables['audit_log'].c.at)
    sa.Table('calendar_events', metadata,
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('scope_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('date', 'scope', 'scope_id', 'name')
    )
    sa.Table('covariates', metadata,
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('value', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('name', 'store_id', 'product_id', 'date')
    )
    sa.Table('datasets', metadata,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=500), nullable=False),
        sa.Column('frequency', sa.String(length=1), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=True),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('rows_written', sa.Integer(), nullable=False),
        sa.Column('rows_rejected', sa.Integer(), nullable=False),
        sa.Column('duplicates', sa.Integer(), nullable=False),
        sa.Column('n_series', sa.Integer(), nullable=False),
        sa.Column('n_stores', sa.Integer(), nullable=False),
        sa.Column('n_products', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('details', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Table('demo_truth', metadata,
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('group', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'group', 'name')
    )
    sa.Table('inventory_on_order', metadata,
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('arrival_date', sa.Date(), nullable=False),
        sa.Column('quantity', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store_id', 'product_id', 'arrival_date')
    )
    sa.Table('inventory_params', metadata,
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('on_hand', sa.Float(), nullable=True),
        sa.Column('lead_time_days', sa.Float(), nullable=True),
        sa.Column('lead_time_sd_days', sa.Float(), nullable=True),
        sa.Column('review_period_days', sa.Float(), nullable=True),
        sa.Column('unit_cost', sa.Float(), nullable=True),
        sa.Column('holding_rate', sa.Float(), nullable=True),
        sa.Column('lost_sale_cost', sa.Float(), nullable=True),
        sa.Column('backorder_cost', sa.Float(), nullable=True),
        sa.Column('target_csl', sa.Float(), nullable=True),
        sa.Column('target_fill_rate', sa.Float(), nullable=True),
        sa.Column('moq', sa.Float(), nullable=True),
        sa.Column('case_pack', sa.Float(), nullable=True),
        sa.Column('shelf_life_days', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store_id', 'product_id')
    )
    sa.Table('locks', metadata,
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('owner', sa.String(length=200), nullable=False),
        sa.Column('acquired_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
        sa.UniqueConstraint('name')
    )
    sa.Table('nodes', metadata,
        sa.Column('node_id', sa.String(length=1219), nullable=False),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('label', sa.String(length=1219), nullable=False),
        sa.Column('region', sa.String(length=200), nullable=True),
        sa.Column('store_id', sa.String(length=200), nullable=True),
        sa.Column('category', sa.String(length=200), nullable=True),
        sa.Column('product_id', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('node_id')
    )
    sa.Index('ix_nodes_level', metadata.tables['nodes'].c.level)
    sa.Table('plan_log', metadata,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('category', sa.String(length=200), nullable=False),
        sa.Column('start', sa.Date(), nullable=True),
        sa.Column('end', sa.Date(), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Table('plans', metadata,
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('category', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('promo', sa.Integer(), nullable=True),
        sa.Column('promo_intensity', sa.Float(), nullable=True),
        sa.Column('price', sa.Float(), nullable=True),
        sa.Column('is_open', sa.Integer(), nullable=True),
        sa.Column('event', sa.String(length=200), nullable=True),
        sa.Column('unit_cost', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store_id', 'product_id', 'category', 'date')
    )
    sa.Index('ix_plans_date', metadata.tables['plans'].c.date)
    sa.Table('products', metadata,
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('category', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('product_id')
    )
    sa.Table('runs', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('is_current', sa.Boolean(), nullable=False),
        sa.Column('data_hash', sa.String(length=64), nullable=True),
        sa.Column('params', sa.Text(), nullable=True),
        sa.Column('code_version', sa.String(length=64), nullable=True),
        sa.Column('n_series', sa.Integer(), nullable=True),
        sa.Column('duration_s', sa.Float(), nullable=True),
        sa.Column('metrics', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('progress', sa.Float(), nullable=False),
        sa.Column('progress_msg', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('run_id')
    )
    sa.Table('stores', metadata,
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('region', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=50), nullable=True),
        sa.Column('size', sa.Float(), nullable=True),
        sa.Column('attrs', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('store_id')
    )
    sa.Table('users', metadata,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('password_hash', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name')
    )
    sa.Table('weather', metadata,
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('scope_id', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('temp_c', sa.Float(), nullable=True),
        sa.Column('precip_mm', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('scope', 'scope_id', 'date')
    )
    sa.Table('api_tokens', metadata,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash')
    )
    sa.Index('ix_api_tokens_user_id', metadata.tables['api_tokens'].c.user_id)
    sa.Table('backtest_metrics', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('series_id', sa.String(length=1219), nullable=False),
        sa.Column('model', sa.String(length=120), nullable=False),
        sa.Column('fold', sa.Integer(), nullable=False),
        sa.Column('rmse', sa.Float(), nullable=True),
        sa.Column('mae', sa.Float(), nullable=True),
        sa.Column('mape', sa.Float(), nullable=True),
        sa.Column('mape_excluded', sa.Integer(), nullable=True),
        sa.Column('smape', sa.Float(), nullable=True),
        sa.Column('wape', sa.Float(), nullable=True),
        sa.Column('mase', sa.Float(), nullable=True),
        sa.Column('rmspe', sa.Float(), nullable=True),
        sa.Column('bias', sa.Float(), nullable=True),
        sa.Column('coverage_80', sa.Float(), nullable=True),
        sa.Column('coverage_95', sa.Float(), nullable=True),
        sa.Column('pinball', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_id', 'model', 'fold'),
        sqlite_with_rowid=False
    )
    sa.Table('diagnostics', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('series_id', sa.String(length=1219), nullable=False),
        sa.Column('model', sa.String(length=120), nullable=False),
        sa.Column('ljung_box_p', sa.Float(), nullable=True),
        sa.Column('bias', sa.Float(), nullable=True),
        sa.Column('resid_std', sa.Float(), nullable=True),
        sa.Column('acf', sa.Text(), nullable=True),
        sa.Column('residuals', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_id', 'model')
    )
    sa.Table('forecasts', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('series_id', sa.String(length=1219), nullable=False),
        sa.Column('model', sa.String(length=120), nullable=False),
        sa.Column('ds', sa.Date(), nullable=False),
        sa.Column('yhat', sa.Float(), nullable=False),
        sa.Column('yhat_lo_80', sa.Float(), nullable=True),
        sa.Column('yhat_hi_80', sa.Float(), nullable=True),
        sa.Column('yhat_lo_95', sa.Float(), nullable=True),
        sa.Column('yhat_hi_95', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_id', 'model', 'ds'),
        sqlite_with_rowid=False
    )
    sa.Table('sales', metadata,
        sa.Column('store_id', sa.String(length=200), nullable=False),
        sa.Column('product_id', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('sales', sa.Float(), nullable=False),
        sa.Column('units', sa.Float(), nullable=True),
        sa.Column('promo', sa.Integer(), nullable=False),
        sa.Column('promo_intensity', sa.Float(), nullable=True),
        sa.Column('price', sa.Float(), nullable=True),
        sa.Column('is_open', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
        sa.ForeignKeyConstraint(['store_id'], ['stores.store_id'], ),
        sa.PrimaryKeyConstraint('store_id', 'product_id', 'date'),
        sqlite_with_rowid=False
    )
    sa.Index('ix_sales_date', metadata.tables['sales'].c.date)
    sa.Table('selections', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('series_id', sa.String(length=1219), nullable=False),
        sa.Column('model', sa.String(length=120), nullable=False),
        sa.Column('metric', sa.String(length=20), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_id')
    )
    sa.Table('tuning_trials', metadata,
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('trial', sa.Integer(), nullable=False),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'trial')
    )
    return metadata


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    metadata = frozen_metadata()
    for table in metadata.sorted_tables:  # parents before the tables whose foreign keys point at them
        if table.name not in existing:
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in reversed(frozen_metadata().sorted_tables):
        if table.name in existing:
            table.drop(bind)
