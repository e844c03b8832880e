"""RLS028 policy-without-privilege: a policy for a command its roles are not granted.

The policy can never be used: the privilege check fails first (42501). Often
the GRANT was written for another table.

Anti-pattern (seed 003: the product grants say ON store)::

    GRANT INSERT ON store TO store_owner;
    CREATE POLICY store_owner_can_insert_product_to_their_store ON product FOR INSERT TO store_owner ...;

Fix::

    GRANT INSERT ON product TO store_owner;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, migrator_policy
from rlskit.lint.model import COMMANDS, Model


@make_rule("RLS028", "policy-without-privilege", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if "PUBLIC" in p.roles or migrator_policy(model, config, p):
            continue  # the migrating role owns the table: it holds every privilege
        cmds = COMMANDS if p.command == "ALL" else (p.command,)
        grants = model.table_grants(p.table)
        for role in p.roles:
            if (
                model.roles.get(role) is None
                and model.source == "static"
                and not any(role in pair for pair in model.memberships)
            ):
                continue  # created outside the project: unknown privileges
            members = {m for m in list(model.roles) if role in model.roles_of(m)} | {role}
            held = {
                priv
                for g in grants
                if g.grantee in members | {"PUBLIC"} | model.roles_of(role)
                for priv in g.privileges
            }
            missing = [c for c in cmds if c not in held]
            if len(missing) == len(cmds):
                yield RULE.finding(
                    f"policy {p.name} on {p.table} is for {role}, which has no "
                    f"{'/'.join(missing)} privilege on {p.table}: the policy is never used",
                    p.loc,
                    f"{p.key}:{role}:nopriv",
                )
