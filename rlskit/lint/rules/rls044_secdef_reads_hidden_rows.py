"""RLS044 secdef-reads-hidden-rows: a SECURITY DEFINER function reads a table whose policies give its owner no rows.

A SECURITY DEFINER function runs as its owner, and row-level security applies to
that owner like to anyone: to a non-owner whenever RLS is enabled, to the table's
owner when it is FORCEd, never to a superuser or a BYPASSRLS role. Policy helpers
(``is_member_of(org)``) are usually written to read past the policies; owned by a
role RLS applies to, with no policy for that role, they read no rows and quietly
answer "no" (or "yes" to a ``NOT EXISTS``) for everyone. The superuser that builds
development databases hides it; a managed PostgreSQL's migrating role
(``[rlskit] migrate_as``) or ``ALTER FUNCTION ... OWNER TO`` a plain role shows it.

Anti-pattern (``migrate_as = migrator``)::

    ALTER TABLE members ENABLE ROW LEVEL SECURITY;
    ALTER TABLE members FORCE ROW LEVEL SECURITY;
    CREATE POLICY member_read ON members TO app_user USING (user_id = app.uid());
    CREATE FUNCTION app.is_member(o int) RETURNS boolean LANGUAGE sql
      SECURITY DEFINER SET search_path = pg_catalog, public
      AS $$ SELECT EXISTS (SELECT 1 FROM public.members WHERE org_id = o) $$;

Fix: give the function's owner a policy of its own on the tables it reads
(``CREATE POLICY members_definer_select ON members FOR SELECT TO CURRENT_USER
USING (true)``, what rlskit's templates write), or own the function by a role
that bypasses RLS.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import CURRENT_ROLE_SPECS, Finding, LintConfig, make_rule, migrator_roles
from rlskit.lint.model import Function, Model, function_trees, walk


def _tables(model: Model, f: Function) -> set[str]:
    """Tables the function's SQL reads, unqualified names resolved by its search_path."""
    path = [
        s.strip().strip('"')
        for s in (f.search_path or "").split(",")
        if s.strip() and s.strip().strip('"') not in ("$user", "pg_temp", "pg_catalog")
    ] or ["public"]
    out: set[str] = set()
    for tree in function_trees(f):
        for kind, node in walk(tree):
            if kind != "RangeVar" or "relname" not in node:
                continue
            rel = str(node["relname"])
            if node.get("schemaname"):
                out.add(f"{node['schemaname']}.{rel}")
                continue
            found = next((f"{s}.{rel}" for s in path if f"{s}.{rel}" in model.tables), None)
            if found is not None:
                out.add(found)
    return out


@make_rule("RLS044", "secdef-reads-hidden-rows", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    migrator = model.migrator or config.migrate_as
    mine_too = migrator_roles(model, config)
    for f in model.functions.values():
        owner = f.owner if f.owner and f.owner not in CURRENT_ROLE_SPECS else migrator
        if not f.security_definer or owner is None or owner == config.migrator:
            continue  # run by the superuser (or a platform's BYPASSRLS migrator)
        role = model.roles.get(owner)
        if role is not None and (role.superuser or role.bypassrls):
            continue
        if owner not in model.roles and owner != config.migrate_as and model.source == "static":
            continue  # a role the files do not describe: its attributes are unknown
        as_owner = model.roles_of(owner) | {"public"}
        if owner in mine_too:
            as_owner |= mine_too
        for table in sorted(_tables(model, f)):
            t = model.tables.get(table)
            if t is None or not t.rls_enabled:
                continue
            table_owner = t.owner if t.owner and t.owner not in CURRENT_ROLE_SPECS else migrator
            if table_owner in as_owner and not t.rls_forced:
                continue  # its owner (or a member of it) and RLS not forced: not applied
            if any(
                p.table == table
                and p.permissive
                and p.applies_to("SELECT")
                and {r.lower() for r in p.roles} & {r.lower() for r in as_owner}
                for p in model.policies.values()
            ):
                continue
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} runs as {owner}, to whom row-level "
                f"security on {table} applies{' (FORCE)' if t.rls_forced else ''}, and no "
                f"policy lets {owner} read it: the function sees no rows of {table}; give "
                f"{owner} a SELECT policy (TO CURRENT_USER in a migration) or another owner",
                f.loc,
                f"secdef-hidden:{f.name}:{table}",
            )
