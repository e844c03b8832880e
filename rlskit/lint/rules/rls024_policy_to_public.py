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
from rlskit.lint.model import Model, Policy


@make_rule("RLS024", "policy-to-public", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    by_table: dict[str, list[Policy]] = {}
    for p in model.policies.values():
        if "PUBLIC" in p.roles:
            by_table.setdefault(p.table, []).append(p)
    # the profile's low-trust roles this project has (all of them if the files create none)
    low = sorted(config.low_trust_roles & set(model.roles) or config.low_trust_roles)
    for table, ps in by_table.items():  # one finding per table, not one per policy
        ps.sort(key=lambda p: (p.loc.file or "", p.loc.line or 0))
        listed = ", ".join(p.name for p in ps)
        yield RULE.finding(
            f"{'policy' if len(ps) == 1 else 'policies'} {listed} on {table} "
            f"{'applies' if len(ps) == 1 else 'apply'} to PUBLIC (no TO clause)"
            + (f": {', '.join(low)} included" if low else ""),
            ps[0].loc,
            f"policy:{table}:*:public",
        )
