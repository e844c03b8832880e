"""tables and group roles

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 08:53:39.346848

The SQL lives in sql/0001_tables_and_group_roles.up.sql and sql/0001_tables_and_group_roles.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0001_tables_and_group_roles')
upgrade, downgrade = sql.upgrade, sql.downgrade
