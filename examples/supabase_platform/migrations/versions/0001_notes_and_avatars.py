"""notes and avatars

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:42:50.950477

The SQL lives in sql/0001_notes_and_avatars.up.sql and sql/0001_notes_and_avatars.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

sql = SqlRevision(revision, '0001_notes_and_avatars')
upgrade, downgrade = sql.upgrade, sql.downgrade
