"""RLS017 current-setting-without-missing-ok: ``current_setting('x')`` errors when x is unset.

A request that forgot to set it fails with an error instead of seeing nothing,
and after any set_config in the session it reads '' (not NULL). Use
``nullif(current_setting('x', true), '')``.

Anti-pattern (seeds 001, 004)::

    WHERE role = current_setting('myapp.role')

Fix::

    WHERE role = (SELECT nullif(current_setting('myapp.role', true), ''))
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs, setting_reads
from rlskit.lint.model import Model, function_trees


@make_rule("RLS017", "current-setting-without-missing-ok", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, label, expr in policy_exprs(model):
        for name, missing_ok in setting_reads(expr):
            if not missing_ok:
                yield RULE.finding(
                    f"{label} of policy {p.name} calls current_setting({name!r}) without "
                    "missing_ok: unset, it raises an error",
                    p.loc,
                    f"{p.key}:{label}:setting",
                )
                break
    for f in model.functions.values():
        for tree in function_trees(f):
            bad = [n for n, ok in setting_reads(tree) if not ok]
            if bad:
                yield RULE.finding(
                    f"function {f.name} calls current_setting({bad[0]!r}) without missing_ok",
                    f.loc,
                    f"fn:{f.name}:setting",
                )
                break
