<%
    # `rlskit new`/`rlskit merge` pass the stem and write the .sql files themselves;
    # plain `alembic revision` / `alembic merge` get both files made here.
    from rlskit.commands import docstring_text
    sql_stem = context.get("stem")
    if sql_stem is None:
        from rlskit.commands import template_stem
        sql_stem = template_stem(context.get("config"), up_revision, message, down_revision)
%>"""${docstring_text(message)}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

The SQL lives in sql/${sql_stem}.up.sql and sql/${sql_stem}.down.sql.
"""

from rlskit.runtime import SqlRevision

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

sql = SqlRevision(revision, ${repr(sql_stem)})
upgrade, downgrade = sql.upgrade, sql.downgrade
