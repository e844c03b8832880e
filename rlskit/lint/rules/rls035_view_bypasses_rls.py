"""RLS035 view-bypasses-rls: a view or materialized view exposes an RLS table without RLS.

A view runs its query with its owner's rights, so the table's policies are
checked against the owner (who usually bypasses them), not the caller, unless
the view is ``security_invoker`` (PostgreSQL 15+). A materialized view stores
the rows its refresher could see and has no policies at all.

Anti-pattern::

    CREATE VIEW public.my_todos AS SELECT * FROM todos;     -- todos has RLS

Fix::

    CREATE VIEW public.my_todos WITH (security_invoker = true) AS SELECT * FROM todos;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS035", "view-bypasses-rls", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for v in model.views.values():
        protected = sorted(
            t for t in v.reads if (tt := model.tables.get(t)) is not None and tt.rls_enabled
        )
        if not protected:
            continue
        if v.materialized:
            yield RULE.finding(
                f"materialized view {v.name} copies rows of {', '.join(protected)} (RLS) "
                "and has no policies: every role that may read it sees every copied row",
                v.loc,
                f"view:{v.name}",
            )
        elif "security_invoker" not in v.options:
            yield RULE.finding(
                f"view {v.name} reads {', '.join(protected)} (RLS) with its owner's rights: "
                "add WITH (security_invoker = true)",
                v.loc,
                f"view:{v.name}",
            )
