"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

The SQL lives in sql/${stem}.up.sql and sql/${stem}.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

sql = SqlRevision(revision, ${repr(stem)})
upgrade, downgrade = sql.upgrade, sql.downgrade
