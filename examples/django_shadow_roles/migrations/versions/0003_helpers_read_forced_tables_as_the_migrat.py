"""helpers read forced tables as the migrating role

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:13:00.016871

The SQL lives in sql/0003_helpers_read_forced_tables_as_the_migrat.up.sql and sql/0003_helpers_read_forced_tables_as_the_migrat.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0003_helpers_read_forced_tables_as_the_migrat')
upgrade, downgrade = sql.upgrade, sql.downgrade
