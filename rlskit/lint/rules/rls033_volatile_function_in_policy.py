"""RLS033 volatile-function-in-policy: a policy calls a VOLATILE function.

A VOLATILE function (the default for ``CREATE FUNCTION``) cannot be inlined or
hoisted: it runs for every row, and it may write, so reading a table through a
policy can change data. Helpers that only read should be STABLE.

Anti-pattern::

    CREATE FUNCTION my_tenant() RETURNS bigint LANGUAGE sql AS $$ SELECT ... $$;
    CREATE POLICY t ON docs USING (tenant_id = my_tenant());

Fix::

    CREATE FUNCTION my_tenant() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT ... $$;

A platform's own functions (``storage.foldername`` under ``profile = supabase``,
or any schema in ``platform_schemas``) are not the project's to redeclare.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model, Policy, calls, func_name


@make_rule("RLS033", "volatile-function-in-policy", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    callers: dict[str, list[Policy]] = {}  # function -> policies: one fix, one finding
    for p in sorted(model.policies.values(), key=lambda p: (p.loc.file or "", p.loc.line or 0)):
        for expr in (p.using, p.check):
            for c in calls(expr) if expr is not None else []:
                f = model.function(func_name(c))
                if (
                    f is not None
                    and f.volatility == "v"
                    and f.name.split(".", 1)[0] not in config.platform_schemas
                    and p not in callers.get(f.name, [])
                ):
                    callers.setdefault(f.name, []).append(p)
    for name, ps in callers.items():
        listed = ", ".join(f"{p.name} on {p.table}" for p in ps[:3])
        if len(ps) > 3:
            listed += f" and {len(ps) - 3} more"
        who = f"policy {listed} calls" if len(ps) == 1 else f"{len(ps)} policies ({listed}) call"
        yield RULE.finding(
            f"{who} VOLATILE {name}: declare it STABLE if it only reads",
            ps[0].loc,
            f"volatile:{name}",
        )
