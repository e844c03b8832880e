"""helpers read forced tables as the migrating role

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:13:03.047307

The SQL lives in sql/0004_helpers_read_forced_tables_as_the_migrat.up.sql and sql/0004_helpers_read_forced_tables_as_the_migrat.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0004_helpers_read_forced_tables_as_the_migrat')
upgrade, downgrade = sql.upgrade, sql.downgrade
