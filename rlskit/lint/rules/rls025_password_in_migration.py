"""RLS025 password-in-migration: a role's password written in a migration.

Migrations live in version control and offline scripts; the password leaks with
them. Create the role NOLOGIN (or without a password) and set the password out
of band.

Anti-pattern (seed 001)::

    CREATE USER mister_nobody WITH ENCRYPTED PASSWORD 'misternobody';

Fix::

    CREATE ROLE mister_nobody NOLOGIN;
    -- ops: ALTER ROLE mister_nobody LOGIN PASSWORD ... from a secret store
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS025", "password-in-migration", "error", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for r in model.roles.values():
        if r.password_in_sql:
            yield RULE.finding(
                f"role {r.name} gets a password in the migration",
                r.loc or Loc(None, None, r.name),
                f"password:{r.name}",
            )
