"""RLS040 child-without-rls: a partition or inheritance child lacks its parent's RLS.

Policies belong to the table they are created on. Queried through the parent,
rows of a child are filtered by the parent's policies; queried directly, the
child applies its own, and a child without row level security shows every row
to anyone with privileges on it.

Anti-pattern::

    CREATE TABLE events (tenant_id bigint, ...) PARTITION BY LIST (tenant_id);
    ALTER TABLE events ENABLE ROW LEVEL SECURITY;
    CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1);

Fix::

    ALTER TABLE events_1 ENABLE ROW LEVEL SECURITY;   -- and its policies
    -- or REVOKE ALL ON events_1 FROM <roles>; so only the parent is reachable
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Loc, Model


@make_rule("RLS040", "child-without-rls", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for t in model.tables.values():
        if t.rls_enabled:
            continue
        for parent in t.parents:
            p = model.tables.get(parent)
            if p is not None and p.rls_enabled:
                yield RULE.finding(
                    f"{t.name} is a partition/child of {parent}, which has row level security, "
                    "but has none itself: queried directly it shows every row",
                    t.loc or Loc(None, None, t.name),
                    f"child:{t.name}",
                )
                break
