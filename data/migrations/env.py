"""Alembic's environment for the store: the target is ``data.schema.Base.metadata``, the database the resolved URL
(or the connection ``data.migrate`` hands over); SQLite runs in batch mode so ALTERs work there too."""
from __future__ import annotations

from alembic import context

from data import schema
from data.engine import get_engine

config = context.config
target_metadata = schema.Base.metadata


def run_migrations(connection) -> None:
    """Run the pending revisions on ``connection`` in one transaction."""
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:  # `alembic -x url=...` from the command line, or the resolved SALES_DB
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with get_engine(url or None).connect() as conn:
        run_migrations(conn)
        conn.commit()
