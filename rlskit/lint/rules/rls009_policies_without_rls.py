"""RLS009 policies-on-table-without-rls: policies on a table whose RLS is not enabled.

Policies do nothing until ``ENABLE ROW LEVEL SECURITY``: every granted role
sees every row.

Anti-pattern (seed 002)::

    CREATE POLICY salesperson_clients ON clients USING (salesperson_id::text = current_user);

Fix::

    ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
    ALTER TABLE clients FORCE ROW LEVEL SECURITY;
    CREATE POLICY salesperson_clients ON clients ...;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS009", "policies-on-table-without-rls", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    done: set[str] = set()
    for p in model.policies.values():
        t = model.tables.get(p.table)
        if p.table in done or (t is not None and t.rls_enabled):
            continue
        done.add(p.table)
        yield RULE.finding(
            f"{p.table} has policies (first: {p.name}) but row level security is not enabled: "
            "the policies are ignored",
            p.loc,
            f"norls:{p.table}",
        )
