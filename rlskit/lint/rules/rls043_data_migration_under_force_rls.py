"""RLS043 data-migration-under-force-rls: a data migration on a FORCE RLS table, run by a role RLS applies to.

With ``migrate_as`` set in ``[rlskit]`` (managed PostgreSQL: the migrating role is
no superuser and has no BYPASSRLS), FORCE ROW LEVEL SECURITY applies the table's
policies to the migration too, owner or not. An UPDATE, DELETE, MERGE or the
SELECT of an INSERT ... SELECT then sees only the rows the policies let the
migrating role see, usually none (no tenant setting): it succeeds and silently
changes 0 rows. The superuser of a development server hides it.

Anti-pattern::

    ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
    ...
    UPDATE accounts SET plan = 'free' WHERE plan IS NULL;  -- 0 rows as migrate_as

Fix: run the data change before FORCE (or between ``ALTER TABLE ... NO FORCE ROW
LEVEL SECURITY`` and ``FORCE`` again, in the same revision), or give the migrating
role a policy of its own (``CREATE POLICY migrate ON accounts TO migrator USING (true)``).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import CURRENT_ROLE_SPECS, Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS043", "data-migration-under-force-rls", "warning", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    me = config.migrate_as
    if not me:
        return
    declared = model.roles.get(me)
    if declared is not None and (declared.superuser or declared.bypassrls):
        return
    mine = model.roles_of(me) | {me} | CURRENT_ROLE_SPECS  # TO CURRENT_USER in a migration
    for loc, command, table in model.forced_data_changes:
        verb = "UPDATE" if command == "MERGE" else command.split()[0]
        if command.startswith("INSERT"):
            verb = "SELECT"
        if any(
            p.table == table and p.permissive and p.applies_to(verb) and set(p.roles) & mine
            for p in model.policies.values()
        ):
            continue
        yield RULE.finding(
            f"{command} on {table}, which has FORCE ROW LEVEL SECURITY, runs as migrate_as "
            f"role {me} (no BYPASSRLS): its policies filter the rows, so this data migration "
            "can silently change 0 rows; run it before FORCE or give the role a policy",
            loc,
            f"dml:{loc}:{table}",
        )
