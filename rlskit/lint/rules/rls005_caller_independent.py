"""RLS005 caller-independent-policy: the policy's expression does not depend on who runs it.

An expression that reads no user, role, setting or function gives every role
in TO the same rows, so it filters data, not access.

Anti-pattern (seed 000)::

    CREATE POLICY superuser_user_select ON auth_user FOR SELECT USING (is_superuser);
    -- is_superuser is the column: every user sees the superusers' rows

Fix::

    CREATE POLICY superuser_user_select ON auth_user FOR SELECT
        USING ((SELECT is_superuser(current_user_id())));

Policies only for anonymous roles (``anonymous_roles``; ``anon`` under the
supabase and postgrest profiles) have no caller to depend on and are not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs, scoping_columns
from rlskit.lint.model import Model, caller_dependent, is_true


@make_rule("RLS005", "caller-independent-policy", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    scoped = {
        p.table
        for p in model.policies.values()
        for e in (p.using, p.check)
        if e is not None and scoping_columns(e)
    }
    for p, label, expr in policy_exprs(model):
        if is_true(expr) or caller_dependent(expr):
            continue
        if label == "WITH CHECK" and p.table in scoped:
            continue  # RLS034 says which owner column the check leaves open: one finding
        if set(p.roles) <= config.anonymous_roles:
            continue  # anon has no identity to depend on: a public subset (a public bucket)
        yield RULE.finding(
            f"{label} of policy {p.name} on {p.table} does not depend on the caller "
            "(no current_user, setting or function): every role in TO sees the same rows",
            p.loc,
            f"{p.key}:{label}",
        )
