"""Tenant isolation by a session setting, column grants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The SQL lives in sql/0002_tenancy.up.sql and sql/0002_tenancy.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0002_tenancy')
upgrade, downgrade = sql.upgrade, sql.downgrade
