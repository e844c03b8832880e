"""RLS026 unknown-role: a grant or policy names a role the project never creates,
while a role with a very similar name exists.

Usually a typo: the grant goes to (or fails on) a role nobody uses, and the
intended role gets nothing.

Anti-pattern (seed 001)::

    CREATE USER mister_nobody ...;
    GRANT ALL ON articles TO misternobody;

Fix::

    GRANT SELECT, INSERT, UPDATE, DELETE ON articles TO mister_nobody;
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS026", "unknown-role", "error", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    if model.source != "static":
        return  # in the catalog every named role exists
    known = set(model.roles) | {r for pair in model.memberships for r in pair}
    named: list[tuple[str, Loc]] = [(g.grantee, g.loc) for g in model.grants if g.loc]
    named += [(r, p.loc) for p in model.policies.values() for r in p.roles]
    reported: set[str] = set()
    for role, loc in named:
        if role in known or role == "PUBLIC" or role in reported:
            continue
        close = difflib.get_close_matches(role, sorted(set(model.roles)), n=1, cutoff=0.8)
        if close:
            reported.add(role)
            yield RULE.finding(
                f"role {role} is never created; did you mean {close[0]}?",
                loc,
                f"unknownrole:{role}",
            )
