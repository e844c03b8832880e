"""Tables and group roles of the five seed articles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The SQL lives in sql/0004_seed_tables.up.sql and sql/0004_seed_tables.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0004_seed_tables')
upgrade, downgrade = sql.upgrade, sql.downgrade
