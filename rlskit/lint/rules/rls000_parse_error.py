"""RLS000 parse-error: a statement PostgreSQL cannot parse.

Nothing else can be checked in it, and the server would reject it.

Anti-pattern (seed 004)::

    USING ('SystemAdministrator' IN SELECT roles FROM users WHERE ...)

Fix::

    USING ((SELECT 'SystemAdministrator' = ANY (roles) FROM users WHERE ...))
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS000", "parse-error", "error", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for loc, message in model.parse_errors:
        yield RULE.finding(f"does not parse: {message}", loc, f"parse:{loc}")
