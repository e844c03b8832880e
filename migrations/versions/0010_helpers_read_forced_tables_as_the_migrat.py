"""helpers read forced tables as the migrating role

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 14:55:20.749488

The SQL lives in sql/0010_helpers_read_forced_tables_as_the_migrat.up.sql and sql/0010_helpers_read_forced_tables_as_the_migrat.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0010_helpers_read_forced_tables_as_the_migrat')
upgrade, downgrade = sql.upgrade, sql.downgrade
