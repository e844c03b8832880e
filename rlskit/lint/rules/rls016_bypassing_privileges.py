"""RLS016 rls-bypassing-privilege: TRUNCATE, TRIGGER or REFERENCES on an RLS table.

TRUNCATE empties the table regardless of policies, REFERENCES lets a role probe
for hidden keys, and TRIGGER runs code on other users' rows. ``GRANT ALL``
includes all three.

Anti-pattern (seed 001)::

    GRANT ALL ON articles TO mister_nobody;

Fix::

    GRANT SELECT, INSERT, UPDATE, DELETE ON articles TO mister_nobody;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model

RISKY = {"TRUNCATE", "TRIGGER", "REFERENCES"}


@make_rule("RLS016", "rls-bypassing-privilege", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    held: dict[tuple[str, str], set[str]] = {}  # the catalog has one row per privilege
    where: dict[tuple[str, str], Loc] = {}
    for g in model.grants:
        t = model.tables.get(g.target) if g.kind == "table" else None
        if t is None or not t.rls_enabled or g.grantee in config.admin_roles or g.columns:
            continue
        risky = g.privileges & RISKY
        if risky:
            held.setdefault((g.target, g.grantee), set()).update(risky)
            where.setdefault((g.target, g.grantee), g.loc or Loc(None, None, g.target))
    for (target, grantee), risky in held.items():
        yield RULE.finding(
            f"{grantee} holds {', '.join(sorted(risky))} on {target}, which RLS does not govern",
            where[(target, grantee)],
            f"risky:{target}:{grantee}",
        )
