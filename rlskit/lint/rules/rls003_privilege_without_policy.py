"""RLS003 privilege-without-policy: a role may run a command on an RLS table, but no policy lets it.

The GRANT passes, then RLS finds no policy: SELECT/UPDATE/DELETE see 0 rows and
INSERT fails. Either the grant is too wide or a policy is missing (often one
declared for the wrong command).

Anti-pattern (seed 001)::

    GRANT ALL ON articles TO mister_nobody;   -- UPDATE/DELETE policies were declared FOR SELECT

Fix::

    GRANT SELECT, INSERT, UPDATE, DELETE ON articles TO mister_nobody;
    CREATE POLICY articles_update ON articles FOR UPDATE TO mister_nobody USING (...) WITH CHECK (...);
    CREATE POLICY articles_delete ON articles FOR DELETE TO mister_nobody USING (...);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import COMMANDS, Loc, Model


@make_rule("RLS003", "privilege-without-policy", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for table in model.tables.values():
        if not table.rls_enabled:
            continue
        policies = [p for p in model.policies.values() if p.table == table.name and p.permissive]
        seen: set[tuple[str, str]] = set()
        for g in model.table_grants(table.name):
            if g.grantee in config.admin_roles:
                continue
            role = model.roles.get(g.grantee)
            if role is not None and (role.superuser or role.bypassrls):
                continue  # RLS008 reports those
            mine = model.roles_of(g.grantee) | {"PUBLIC"}
            for cmd in COMMANDS:
                if cmd not in g.privileges or (g.grantee, cmd) in seen:
                    continue
                if not any(p.applies_to(cmd) and set(p.roles) & mine for p in policies):
                    seen.add((g.grantee, cmd))
                    yield RULE.finding(
                        f"{g.grantee} has {cmd} on {table.name} but no {cmd} policy applies to "
                        f"it: {'the INSERT fails' if cmd == 'INSERT' else 'it affects 0 rows'}",
                        g.loc or table.loc or Loc(None, None, table.name),
                        f"noPolicy:{table.name}:{g.grantee}:{cmd}",
                    )
