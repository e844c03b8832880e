"""Documents owned by users, for signed identities

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

The SQL lives in sql/0006_documents.up.sql and sql/0006_documents.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0006_documents')
upgrade, downgrade = sql.upgrade, sql.downgrade
