"""RLS041 default-privileges-to-low-trust: every future table or function goes to a low-trust role.

``ALTER DEFAULT PRIVILEGES ... GRANT ... TO anon`` (or PUBLIC) hands every
table, sequence or function created later to that role, before anyone has
written its policies or decided it should be reachable. A table created without
``ENABLE ROW LEVEL SECURITY`` is then readable by every API caller.
Low-trust roles: ``low_trust_roles`` in ``[rlskit.lint]`` or the profile's;
defaults set by ``admin_roles`` (the platform's own setup) are not reported.

Anti-pattern::

    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon;

Fix: grant each table explicitly after its policies::

    GRANT SELECT ON public.todos TO anon;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model

KINDS = {"table", "function"}
# What makes a default grant on tables dangerous: access to rows.
ROWS = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}


@make_rule("RLS041", "default-privileges-to-low-trust", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    low = config.low_trust_roles | {"PUBLIC"}
    for d in model.default_privileges:
        owner = d.owner or config.migrator  # no FOR ROLE: the role running the migrations
        if d.kind not in KINDS or d.grantee not in low or owner in config.admin_roles:
            continue
        privs = d.privileges & (ROWS if d.kind == "table" else {"EXECUTE"})
        if not privs or (d.grantee == "PUBLIC" and d.kind == "function"):
            continue  # EXECUTE for PUBLIC on functions is PostgreSQL's own default
        where = f"schema {d.schema}" if d.schema else "every schema"
        yield RULE.finding(
            f"default privileges give {d.grantee} {', '.join(sorted(privs))} on every future "
            f"{d.kind} in {where}, before its policies exist",
            d.loc,
            f"defpriv:{d.schema or '*'}:{d.kind}:{d.grantee}",
        )
