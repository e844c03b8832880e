"""token expiry checked with clock_timestamp

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:17:37.832010

The SQL lives in sql/0009_token_expiry_checked_with_clock_timestam.up.sql and sql/0009_token_expiry_checked_with_clock_timestam.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0009_token_expiry_checked_with_clock_timestam')
upgrade, downgrade = sql.upgrade, sql.downgrade
