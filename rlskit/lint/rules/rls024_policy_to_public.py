"""RLS024 policy-to-public: a policy without ``TO`` applies to every role, now and later.

Roles added later for other purposes (reporting, replication, support tools)
silently get it too. Name the roles.

Anti-pattern (seeds 000, 001, 002)::

    CREATE POLICY read_own_data ON auth_user FOR SELECT USING (...);

Fix::

    CREATE POLICY read_own_data ON auth_user FOR SELECT TO django_users USING (...);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS024", "policy-to-public", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if "PUBLIC" in p.roles:
            yield RULE.finding(
                f"policy {p.name} on {p.table} applies to PUBLIC (no TO clause)",
                p.loc,
                f"{p.key}:public",
            )
