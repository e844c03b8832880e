"""RLS008 app-role-bypasses-rls: a role the policies are for is superuser, BYPASSRLS or the owner.

Such a role ignores every policy (the owner unless FORCE), so the policies
written for it prove nothing.

Anti-pattern (seed 000: the login role django is a SUPERUSER)::

    CREATE ROLE django SUPERUSER;  GRANT "django:1" TO django;

Fix::

    CREATE ROLE django NOLOGIN NOINHERIT;   -- switches to the per-user role; holds nothing itself

Not reported: roles in ``admin_roles`` (or the profile's, e.g. Supabase's
``service_role``), the role that runs the migrations (the superuser, or
``[rlskit] migrate_as``) unless a policy or grant names it, and a role that only
owns SECURITY DEFINER helpers: none of them is named in a policy or a grant
(a policy only for the migrating role, ``TO CURRENT_USER``, does not count).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, migrator_policy
from rlskit.lint.model import Loc, Model


@make_rule("RLS008", "app-role-bypasses-rls", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    # Roles the application acts as: named in a policy's TO or granted rights on an
    # RLS table. A policy without TO (PUBLIC) does not make every role one: the
    # migrating superuser, or a NOLOGIN BYPASSRLS role that only owns SECURITY
    # DEFINER helpers, is not an application role.
    used: dict[str, Loc] = {}
    for p in model.policies.values():
        if migrator_policy(model, config, p):
            continue  # TO CURRENT_USER in a migration: the migrating role, not the app
        for r in p.roles:
            if r != "PUBLIC":
                used.setdefault(r, p.loc)
    for g in model.grants:
        t = model.tables.get(g.target) if g.kind == "table" else None
        # (the migrating role's privileges include the owner's own, on what it created)
        if t is not None and t.rls_enabled and g.grantee not in ("PUBLIC", config.migrate_as):
            used.setdefault(g.grantee, g.loc or t.loc or Loc(None, None, t.name))
    if any("PUBLIC" in p.roles for p in model.policies.values()):
        # policies for everyone: every role that can log in is an application role,
        # but not the one that ran the migrations.
        for login in model.roles.values():
            if login.login and login.name not in (model.migrator, config.migrate_as):
                used.setdefault(login.name, login.loc or Loc(None, None, login.name))
    users = set(used)
    for role in model.roles.values():
        if role.name in config.admin_roles:
            continue
        if role.name not in users and not (model.roles_of(role.name) & users):
            continue  # a role that can become (is a member of) an app role counts too
        why = [w for w, on in (("SUPERUSER", role.superuser), ("BYPASSRLS", role.bypassrls)) if on]
        if why:
            yield RULE.finding(
                f"role {role.name} is {' and '.join(why)}: RLS does not apply to it",
                role.loc or used.get(role.name) or Loc(None, None, role.name),
                f"bypass:{role.name}",
            )
    for t in model.tables.values():
        owner = model.roles.get(t.owner) if t.owner else None
        if owner is not None and (owner.superuser or owner.bypassrls):
            continue  # FORCE changes nothing for it; its own finding above says why
        if (
            t.owner
            and t.owner in users
            and t.owner not in config.admin_roles
            and t.rls_enabled
            and not t.rls_forced
        ):
            yield RULE.finding(
                f"{t.owner} owns {t.name} and the policies are written for it: without FORCE "
                "they do not apply to the owner",
                t.loc or Loc(None, None, t.name),
                f"owner:{t.name}",
            )
