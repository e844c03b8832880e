"""Policy helpers in plpgsql and PARALLEL SAFE

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:06:45.085299

The SQL lives in sql/0003_policy_helpers_in_plpgsql_and_parallel_s.up.sql and sql/0003_policy_helpers_in_plpgsql_and_parallel_s.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0003_policy_helpers_in_plpgsql_and_parallel_s')
upgrade, downgrade = sql.upgrade, sql.downgrade
