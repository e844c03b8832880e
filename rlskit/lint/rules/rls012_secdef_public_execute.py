"""RLS012 security-definer-public-execute: anyone may call a SECURITY DEFINER function.

Functions are executable by PUBLIC by default. A SECURITY DEFINER function runs
with its owner's rights, so revoke that and grant it to the roles that need it.

Anti-pattern::

    CREATE FUNCTION tenant_ids(uid int) RETURNS int[] SECURITY DEFINER ...;

Fix::

    REVOKE ALL ON FUNCTION tenant_ids(int) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION tenant_ids(int) TO app_user;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS012", "security-definer-public-execute", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.security_definer and not f.returns_trigger and f.public_execute:
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} is executable by PUBLIC: "
                "REVOKE ALL ON FUNCTION ... FROM PUBLIC",
                f.loc,
                f"publicexec:{f.name}",
            )
