"""Per-user NOLOGIN roles made by a SECURITY DEFINER trigger; owner-only notes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The SQL lives in sql/0003_user_roles.up.sql and sql/0003_user_roles.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0003_user_roles')
upgrade, downgrade = sql.upgrade, sql.downgrade
