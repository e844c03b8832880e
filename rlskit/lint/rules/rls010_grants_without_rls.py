"""RLS010 privileges-on-table-without-rls: roles are granted a table that has no RLS.

Every granted role sees every row. Fine for reference data: list such tables in
``[rlskit.lint] public_tables``.

Anti-pattern (seed 001)::

    GRANT SELECT ON auth_role_permission TO mister_nobody;   -- everyone reads every role's permissions

Fix::

    -- read it through a SECURITY DEFINER function instead of a grant, or:
    ALTER TABLE auth_role_permission ENABLE ROW LEVEL SECURITY; ... policies ...

Not reported: grants to ``admin_roles`` and to ``[rlskit] migrate_as`` (the role
that runs the migrations, which a superuser would run as).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model

DML = {"SELECT", "INSERT", "UPDATE", "DELETE"}


@make_rule("RLS010", "privileges-on-table-without-rls", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for g in model.grants:
        if g.kind != "table" or not (g.privileges & DML) or g.target in config.public_tables:
            continue
        t = model.tables.get(g.target)
        if t is None or t.rls_enabled or g.grantee in config.admin_roles:
            continue
        if g.grantee == config.migrate_as:
            continue  # the role that runs the migrations, as the superuser would
        yield RULE.finding(
            f"{g.grantee} is granted {', '.join(sorted(g.privileges & DML))} on {g.target}, "
            "which has no row level security: it reaches every row",
            g.loc or t.loc or Loc(None, None, t.name),
            f"grantnorls:{g.target}:{g.grantee}",
        )
