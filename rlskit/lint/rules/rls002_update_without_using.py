"""RLS002 update-policy-without-using: an UPDATE policy with WITH CHECK but no USING.

Without USING no existing row qualifies for the update, so every UPDATE
affects 0 rows without an error.

Anti-pattern (seed 003)::

    CREATE POLICY store_owner_can_update_their_store ON store FOR UPDATE TO store_owner
        WITH CHECK (is_current_account(owner_id));

Fix::

    CREATE POLICY store_owner_can_update_their_store ON store FOR UPDATE TO store_owner
        USING (owner_id = (SELECT current_account_id()))
        WITH CHECK (owner_id = (SELECT current_account_id()));
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS002", "update-policy-without-using", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if p.command == "UPDATE" and p.using is None:
            yield RULE.finding(
                f"UPDATE policy {p.name} on {p.table} has no USING: no row can be updated "
                "through it (0 rows, no error)",
                p.loc,
                p.key,
            )
