"""Policy helpers in plpgsql and PARALLEL SAFE (plans cached, parallel scans kept)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:06:40.529896

The SQL lives in sql/0008_policy_helpers_in_plpgsql_and_parallel_s.up.sql and sql/0008_policy_helpers_in_plpgsql_and_parallel_s.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0008_policy_helpers_in_plpgsql_and_parallel_s')
upgrade, downgrade = sql.upgrade, sql.downgrade
