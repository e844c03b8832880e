"""RLS016 rls-bypassing-privilege: TRUNCATE, TRIGGER or REFERENCES on an RLS table.

TRUNCATE empties the table regardless of policies, REFERENCES lets a role probe
for hidden keys, and TRIGGER runs code on other users' rows. ``GRANT ALL``
includes all three.

Anti-pattern (seed 001)::

    GRANT ALL ON articles TO mister_nobody;

Fix::

    GRANT SELECT, INSERT, UPDATE, DELETE ON articles TO mister_nobody;

Not reported: privileges that default privileges set up by an ``admin_roles``
role hand out (a platform's own setup, e.g. Supabase's with ``profile = supabase``),
and the privileges of ``[rlskit] migrate_as`` (the role that runs the migrations).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model

RISKY = {"TRUNCATE", "TRIGGER", "REFERENCES"}


def _platform_default(
    model: Model, config: LintConfig, grantee: str, table: str, priv: str
) -> bool:
    """Granted by default privileges an admin role (the platform) set up, e.g. Supabase's
    ``GRANT ALL ON TABLES TO anon``: the platform's decision, not the project's."""
    schema = table.split(".", 1)[0]
    return any(
        d.kind == "table"
        and d.grantee == grantee
        and d.schema in (None, schema)
        and priv in d.privileges
        and (d.owner or config.migrator) in config.admin_roles  # no FOR ROLE: the migrator
        for d in model.default_privileges
    )


@make_rule("RLS016", "rls-bypassing-privilege", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    held: dict[str, dict[str, set[str]]] = {}  # table -> grantee -> privileges
    where: dict[str, Loc] = {}
    for g in model.grants:  # the catalog has one row per privilege: gather them
        t = model.tables.get(g.target) if g.kind == "table" else None
        if t is None or not t.rls_enabled or g.grantee in config.admin_roles or g.columns:
            continue
        if g.grantee == config.migrate_as:
            continue  # the role that runs the migrations, as the superuser would
        risky = {
            p
            for p in g.privileges & RISKY
            if not _platform_default(model, config, g.grantee, g.target, p)
        }
        if risky:
            held.setdefault(g.target, {}).setdefault(g.grantee, set()).update(risky)
            where.setdefault(g.target, g.loc or Loc(None, None, g.target))
    for target, by_grantee in held.items():  # one finding per table
        parts = [
            f"{grantee} holds {', '.join(sorted(privs))}"
            for grantee, privs in sorted(by_grantee.items())
        ]
        yield RULE.finding(
            f"{'; '.join(parts)} on {target}, which RLS does not govern",
            where[target],
            f"risky:{target}",
        )
