"""RLS007 rls-not-forced: RLS is enabled but not forced.

The table's owner, and every role that is a member of the owner, ignore
non-forced policies. Applications often connect as the owner.

Anti-pattern (seeds 000, 003)::

    ALTER TABLE account ENABLE ROW LEVEL SECURITY;

Fix::

    ALTER TABLE account ENABLE ROW LEVEL SECURITY;
    ALTER TABLE account FORCE ROW LEVEL SECURITY;

Not reported: tables the files leave to the platform's migrating role (``postgres``
under ``profile = supabase``, which has BYPASSRLS there).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS007", "rls-not-forced", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for t in model.tables.values():
        owner = model.roles.get(t.owner) if t.owner else None
        if owner is not None and (owner.superuser or owner.bypassrls):
            continue  # FORCE changes nothing for a superuser or BYPASSRLS owner
        if t.owner is None and config.migrator:
            continue  # owned by the platform's migrating role, which bypasses RLS anyway
        if t.rls_enabled and not t.rls_forced:
            yield RULE.finding(
                f"RLS on {t.name} is enabled but not forced: its owner"
                f"{f' ({t.owner})' if t.owner else ''} and members of the owner bypass the policies",
                t.rls_loc or t.loc or Loc(None, None, t.name),
                f"force:{t.name}",
            )
