"""Seed schemes rendered from policies/*.yaml

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:24:40.293469

The SQL lives in sql/0005_seed_schemes_rendered_from_policies_yaml.up.sql and sql/0005_seed_schemes_rendered_from_policies_yaml.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0005_seed_schemes_rendered_from_policies_yaml')
upgrade, downgrade = sql.upgrade, sql.downgrade
