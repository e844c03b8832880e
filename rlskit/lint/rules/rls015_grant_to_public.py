"""RLS015 grant-to-public: privileges granted to PUBLIC (every role, now and later).

Anti-pattern (seed 000)::

    GRANT ALL ON ALL TABLES IN SCHEMA public TO public;

Fix::

    GRANT SELECT, UPDATE ON auth_user TO django_users;   -- a group role, the least needed
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS015", "grant-to-public", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    seen: set[str] = set()
    for g in model.grants:
        if g.grantee != "PUBLIC" or g.kind == "function":
            continue
        if g.kind == "schema" and g.privileges <= {"USAGE"}:
            continue
        if g.target in seen:
            continue
        seen.add(g.target)
        yield RULE.finding(
            f"{', '.join(sorted(g.privileges))} on {g.kind} {g.target} is granted to PUBLIC",
            g.loc or Loc(None, None, g.target),
            f"public:{g.kind}:{g.target}",
        )
