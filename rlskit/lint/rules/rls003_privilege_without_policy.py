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

Not reported: grants to ``admin_roles`` and to ``[rlskit] migrate_as`` (the role
that runs the migrations; RLS043 covers its data migrations).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import COMMANDS, Loc, Model


def from_defaults(model: Model, grantee: str, table: str, cmd: str) -> bool:
    """Is the grant what ALTER DEFAULT PRIVILEGES hands every new table (a blanket
    grant the platform makes, with policies deciding)? Then no policy means deny."""
    schema = table.split(".", 1)[0]
    return any(
        d.kind == "table"
        and d.grantee == grantee
        and d.schema in (None, schema)
        and cmd in d.privileges
        for d in model.default_privileges
    )


@make_rule("RLS003", "privilege-without-policy", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for table in model.tables.values():
        if not table.rls_enabled:
            continue
        policies = [p for p in model.policies.values() if p.table == table.name and p.permissive]
        missing: dict[str, list[str]] = {}
        where: dict[str, Loc] = {}
        for g in model.table_grants(table.name):
            if g.grantee in config.admin_roles or g.grantee == config.migrate_as:
                continue  # the migrating role's own data migrations: RLS043
            role = model.roles.get(g.grantee)
            if role is not None and (role.superuser or role.bypassrls):
                continue  # RLS008 reports those
            mine = model.roles_of(g.grantee) | {"PUBLIC"}
            for cmd in COMMANDS:
                if cmd not in g.privileges or cmd in missing.get(g.grantee, []):
                    continue
                if from_defaults(model, g.grantee, table.name, cmd):
                    continue
                if not any(p.applies_to(cmd) and set(p.roles) & mine for p in policies):
                    missing.setdefault(g.grantee, []).append(cmd)
                    where.setdefault(g.grantee, g.loc or table.loc or Loc(None, None, table.name))
        for grantee, cmds in missing.items():
            cmds = [c for c in COMMANDS if c in cmds]
            effect = "; ".join(
                x
                for x in (
                    "INSERT fails" if "INSERT" in cmds else "",
                    f"{'/'.join(c for c in cmds if c != 'INSERT')} affect(s) 0 rows"
                    if set(cmds) - {"INSERT"}
                    else "",
                )
                if x
            )
            yield RULE.finding(
                f"{grantee} has {', '.join(cmds)} on {table.name} but no policy for "
                f"{'it' if len(cmds) == 1 else 'them'} applies to {grantee}: {effect}",
                where[grantee],
                f"noPolicy:{table.name}:{grantee}",
            )
