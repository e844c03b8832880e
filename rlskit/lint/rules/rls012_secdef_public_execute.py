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
from rlskit.lint.model import Function, Model


def by_default_privileges(model: Model, config: LintConfig, f: Function) -> list[str]:
    """Low-trust roles that hold EXECUTE on ``f`` because default privileges gave it."""
    schema = f.name.split(".", 1)[0]
    if f.executors is not None:
        can = f.executors & config.low_trust_roles
    else:
        can = {
            g.grantee
            for g in model.grants
            if g.kind == "function" and g.target == f.name and g.grantee in config.low_trust_roles
        }
    return sorted(
        r
        for r in can
        if any(
            d.kind == "function"
            and d.grantee == r
            and d.schema in (None, schema)
            and "EXECUTE" in d.privileges
            for d in model.default_privileges
        )
    )


@make_rule("RLS012", "security-definer-public-execute", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.security_definer and not f.returns_trigger and f.public_execute:
            also = by_default_privileges(model, config, f)
            extra = f" (and {', '.join(also)} through default privileges)" if also else ""
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} is executable by PUBLIC{extra}: "
                f"REVOKE EXECUTE ON FUNCTION ... FROM {', '.join(['PUBLIC', *also])}",
                f.loc,
                f"publicexec:{f.name}",
            )
