"""RLS022 policy-recursion: a policy that reads its own table.

A subquery on the same table, or a plain (not SECURITY DEFINER) function that
reads it, applies the same policy again: "infinite recursion detected in
policy".

Anti-pattern (seed 000, once is_superuser() is called)::

    CREATE FUNCTION is_superuser() RETURNS boolean LANGUAGE sql
        AS $$ SELECT is_superuser FROM auth_user WHERE ... $$;
    CREATE POLICY su ON auth_user USING (is_superuser());

Fix::

    CREATE FUNCTION is_superuser(uid int) RETURNS boolean LANGUAGE sql STABLE
        SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ ... $$;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs
from rlskit.lint.model import Model, calls, func_name, function_trees, tables_read


@make_rule("RLS022", "policy-recursion", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, label, expr in policy_exprs(model):
        if p.table in tables_read(expr):
            yield RULE.finding(
                f"{label} of policy {p.name} reads {p.table} itself: infinite recursion",
                p.loc,
                f"{p.key}:recursion",
            )
            continue
        for call in calls(expr):
            f = model.function(func_name(call))
            if f is None or f.security_definer:
                continue
            if any(p.table in tables_read(t) for t in function_trees(f)):
                yield RULE.finding(
                    f"{label} of policy {p.name} calls {f.name}(), which reads {p.table} under "
                    "the same policy: infinite recursion (make it SECURITY DEFINER)",
                    p.loc,
                    f"{p.key}:recursion",
                )
                break
