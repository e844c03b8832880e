"""RLS004 allow-all-to-non-admin: a policy of ``true`` for a role that is not an admin.

``USING (true)`` lets the role see (or change) every row. That is right for an
admin or a public catalogue; anywhere else it usually means the wrong role.
List admin roles in ``[rlskit.lint] admin_roles`` and suppress intended
catalogues with ``-- rlskit: ignore RLS004``.

Anti-pattern (seed 003)::

    CREATE POLICY super_admin_can_do_anything ON store FOR ALL TO store_owner
        USING (true) WITH CHECK (true);

Fix::

    CREATE POLICY super_admin_can_do_anything ON store FOR ALL TO super_admin
        USING (true) WITH CHECK (true);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model, is_true


def admin(name: str, config: LintConfig) -> bool:
    return name in config.admin_roles or "admin" in name.lower()


@make_rule("RLS004", "allow-all-to-non-admin", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if not (is_true(p.using) or (p.using is None and is_true(p.check))):
            continue
        if p.command == "SELECT" and p.table in config.public_tables:
            continue
        others = [r for r in p.roles if not admin(r, config)]
        if others:
            yield RULE.finding(
                f"policy {p.name} on {p.table} allows every row ({p.command}) to "
                f"{', '.join(others)}, which is not an admin role",
                p.loc,
                p.key,
            )
