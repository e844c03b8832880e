"""RLS004 allow-all-to-non-admin: a policy of ``true`` for a role that is not an admin.

``USING (true)`` lets the role see (or change) every row. That is right for an
admin or a public catalogue; anywhere else it usually means the wrong role.
List admin roles in ``[rlskit.lint] admin_roles`` and suppress intended
catalogues with ``-- rlskit: ignore RLS004``. A policy only for the role running
the migrations (``TO CURRENT_USER``, what the templates give the owner of their
SECURITY DEFINER helpers) is not reported.

Anti-pattern (seed 003)::

    CREATE POLICY super_admin_can_do_anything ON store FOR ALL TO store_owner
        USING (true) WITH CHECK (true);

Fix::

    CREATE POLICY super_admin_can_do_anything ON store FOR ALL TO super_admin
        USING (true) WITH CHECK (true);
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, migrator_policy, scoping_columns
from rlskit.lint.model import Model, is_true
from rlskit.lint.rules.rls034_check_not_tied_to_caller import helper_columns


def admin(name: str, config: LintConfig) -> bool:
    return name in config.admin_roles or "admin" in name.lower()


# Columns that say a row belongs to someone: owner_id, user_id, tenant, org_id, created_by
OWNER_LIKE = re.compile(
    r"(^|_)(owner|user|tenant|org|organi[sz]ation|account|team|workspace|customer|member"
    r"|author|creator|created_by|uid)(_?id|_uuid)?$",
    re.IGNORECASE,
)


def reference_table(model: Model, table: str, roles: list[str]) -> bool:
    """A table read whole on purpose: it has no owner, tenant or membership column
    (by name, or compared with the caller in a policy) and no policy lets ``roles``
    write it."""
    t = model.tables.get(table)
    if t is None or any(OWNER_LIKE.search(c) for c in t.columns):
        return False
    policies = [p for p in model.policies.values() if p.table == table]
    for p in policies:
        for expr in (p.using, p.check):
            if expr is not None and (scoping_columns(expr, table) or helper_columns(model, expr)):
                return False
        writes = p.command != "SELECT"
        if writes and p.permissive and set(p.roles) & {*roles, "PUBLIC"}:
            return False
    return True


@make_rule("RLS004", "allow-all-to-non-admin", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if not (is_true(p.using) or (p.using is None and is_true(p.check))):
            continue
        if migrator_policy(model, config, p):
            continue  # the migrating role's own rows (e.g. for its SECURITY DEFINER helpers)
        if p.command == "SELECT" and (
            p.table in config.public_tables or reference_table(model, p.table, p.roles)
        ):
            continue
        others = [r for r in p.roles if not admin(r, config)]
        if others:
            yield RULE.finding(
                f"policy {p.name} on {p.table} allows every row ({p.command}) to "
                f"{', '.join(others)}, which is not an admin role",
                p.loc,
                p.key,
            )
