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
from rlskit.lint.model import Function, Model, Policy, calls, func_name


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


def holders(model: Model, f: Function) -> set[str]:
    """Roles holding EXECUTE on ``f`` by a grant of their own (not through PUBLIC)."""
    if f.executors is not None:
        return f.executors - {"PUBLIC"}
    return {
        g.grantee
        for g in model.grants
        if g.kind == "function" and g.target == f.name and g.grantee != "PUBLIC"
    }


def calling_policies(model: Model, f: Function) -> list[Policy]:
    """Policies whose expressions call ``f``: their roles need EXECUTE on it (a policy's
    functions run with the privileges of the role that queries the table)."""
    return sorted(
        (
            p
            for p in model.policies.values()
            if any(
                model.function(func_name(c)) is f
                for e in (p.using, p.check)
                if e is not None
                for c in calls(e)
            )
        ),
        key=lambda p: (p.table, p.name),
    )


@make_rule("RLS012", "security-definer-public-execute", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.security_definer and not f.returns_trigger and f.public_execute:
            also = by_default_privileges(model, config, f)
            extra = f" (and {', '.join(also)} through default privileges)" if also else ""
            users = calling_policies(model, f)
            needed = {r for p in users for r in p.roles}
            named = ", ".join(f"{p.name} on {p.table}" for p in users[:3])
            if len(users) > 3:
                named += f" and {len(users) - 3} more"
            if "PUBLIC" in needed:
                advice = (
                    f"policies {named} call it for PUBLIC (no TO clause): name their roles "
                    "in TO, then REVOKE EXECUTE ON FUNCTION ... FROM PUBLIC and GRANT it to "
                    "those roles only"
                )
            else:
                revoke = ", ".join(r for r in ["PUBLIC", *also] if r not in needed)
                advice = f"REVOKE EXECUTE ON FUNCTION ... FROM {revoke}"
                lacking = sorted(needed - holders(model, f))
                if lacking:
                    advice += (
                        f", then GRANT EXECUTE ON FUNCTION ... TO {', '.join(lacking)} "
                        f"(policies {named} call it)"
                    )
                elif needed:
                    keeps = ", ".join(sorted(needed))
                    verb = "keeps" if len(needed) == 1 else "keep"
                    advice += f" (policies {named} call it: {keeps} {verb} EXECUTE)"
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} is executable by PUBLIC{extra}: {advice}",
                f.loc,
                f"publicexec:{f.name}",
            )
