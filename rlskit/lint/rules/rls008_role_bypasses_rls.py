"""RLS008 app-role-bypasses-rls: a role the policies are for is superuser, BYPASSRLS or the owner.

Such a role ignores every policy (the owner unless FORCE), so the policies
written for it prove nothing.

Anti-pattern (seed 000: the login role django is a SUPERUSER)::

    CREATE ROLE django SUPERUSER;  GRANT "django:1" TO django;

Fix::

    CREATE ROLE django NOLOGIN NOINHERIT;   -- switches to the per-user role; holds nothing itself
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS008", "app-role-bypasses-rls", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    used: dict[str, Loc] = {}
    for p in model.policies.values():
        for r in p.roles:
            used.setdefault(r, p.loc)
    for g in model.grants:
        if (
            g.kind == "table"
            and model.tables.get(g.target, None) is not None
            and model.tables[g.target].rls_enabled
            and g.loc is not None
        ):
            used.setdefault(g.grantee, g.loc)
    users = set(used)
    for role in model.roles.values():
        # a role that can become (is a member of) a policy role counts too
        if (
            "PUBLIC" not in users
            and role.name not in users
            and not (model.roles_of(role.name) & users)
        ):
            continue
        why = [w for w, on in (("SUPERUSER", role.superuser), ("BYPASSRLS", role.bypassrls)) if on]
        if why:
            yield RULE.finding(
                f"role {role.name} is {' and '.join(why)}: RLS does not apply to it",
                role.loc or used.get(role.name) or Loc(None, None, role.name),
                f"bypass:{role.name}",
            )
    for t in model.tables.values():
        if t.owner and t.owner in users and t.rls_enabled and not t.rls_forced:
            yield RULE.finding(
                f"{t.owner} owns {t.name} and the policies are written for it: without FORCE "
                "they do not apply to the owner",
                t.loc or Loc(None, None, t.name),
                f"owner:{t.name}",
            )
