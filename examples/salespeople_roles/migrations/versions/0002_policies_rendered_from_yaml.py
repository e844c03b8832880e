"""policies rendered from YAML

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:53:39.351866

The SQL lives in sql/0002_policies_rendered_from_yaml.up.sql and sql/0002_policies_rendered_from_yaml.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0002_policies_rendered_from_yaml')
upgrade, downgrade = sql.upgrade, sql.downgrade
