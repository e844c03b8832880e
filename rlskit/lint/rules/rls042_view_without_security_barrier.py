"""RLS042 view-without-security-barrier: a view that filters rows by caller is not a security barrier.

A view like ``... WHERE owner = current_user`` is a hand-made row filter. Without
``security_barrier`` the planner may run the caller's own functions and
operators (``WHERE leak(secret)``) before the view's WHERE, on every row of the
table, and the function sees rows the view was meant to hide.

Anti-pattern::

    CREATE VIEW my_notes AS SELECT * FROM notes WHERE owner = current_user;

Fix::

    CREATE VIEW my_notes WITH (security_barrier = true) AS
        SELECT * FROM notes WHERE owner = current_user;
    -- or row level security on notes itself

Not reported: a ``security_invoker`` view whose tables all have RLS enabled (their
policies, not the view's WHERE, decide what the caller can see).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS042", "view-without-security-barrier", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for v in model.views.values():
        if v.materialized or not v.filters_by_caller or "security_barrier" in v.options:
            continue
        if (
            "security_invoker" in v.options
            and v.reads
            and all((t := model.tables.get(name)) is not None and t.rls_enabled for name in v.reads)
        ):
            continue  # read as the caller, under the tables' own policies: they are the barrier
        yield RULE.finding(
            f"view {v.name} filters rows by the caller but is not a security_barrier view: "
            "a caller's function in WHERE can see the hidden rows",
            v.loc,
            f"barrier:{v.name}",
        )
