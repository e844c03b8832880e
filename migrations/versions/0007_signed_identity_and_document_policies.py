"""Signed identity and document policies

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 08:42:06.137083

The SQL lives in sql/0007_signed_identity_and_document_policies.up.sql and sql/0007_signed_identity_and_document_policies.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0007_signed_identity_and_document_policies')
upgrade, downgrade = sql.upgrade, sql.downgrade
