"""RLS018 forgeable-session-setting: access decided by a setting any client can set.

Any session can run ``SET myapp.role = 'ADMIN'``. If clients can send SQL (or
the app has an injection), they pick their own identity. Set identities through
a verifying SECURITY DEFINER function (rlskit.session signed identities), or use
database roles; list settings only your trusted connection layer sets in
``[rlskit.lint] trusted_settings``.

Anti-pattern (seed 001)::

    USING (EXISTS (SELECT FROM auth_role_permission WHERE role = current_setting('myapp.role') ...))

Fix::

    -- the role comes from a signed token verified in the database, or:
    [rlskit.lint] trusted_settings = myapp.role   -- after review: clients cannot run SQL
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs, setting_reads
from rlskit.lint.model import Model, calls, func_name, function_trees


@make_rule("RLS018", "forgeable-session-setting", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, _label, expr in policy_exprs(model):
        names = {n for n, _ in setting_reads(expr) if n}
        for call in calls(expr):
            f = model.function(func_name(call))
            if f is not None:
                for tree in function_trees(f):
                    names |= {n for n, _ in setting_reads(tree) if n}
        untrusted = sorted(names - config.trusted_settings)
        if untrusted:
            yield RULE.finding(
                f"policy {p.name} on {p.table} trusts the session setting "
                f"{', '.join(untrusted)}, which any client can set",
                p.loc,
                f"{p.key}:forge",
            )
