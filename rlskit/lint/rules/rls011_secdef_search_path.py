"""RLS011 security-definer-search-path: a SECURITY DEFINER function without a pinned search_path.

The function runs with its owner's rights but resolves names through the
caller's search_path, so a caller can put their own ``pg_temp`` or schema
objects first and run code as the owner. Pin it, with ``pg_temp`` last.

Anti-pattern::

    CREATE FUNCTION create_shadow_role() RETURNS trigger SECURITY DEFINER AS $$ ... $$;

Fix::

    CREATE FUNCTION create_shadow_role() RETURNS trigger SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$ ... $$;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS011", "security-definer-search-path", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if not f.security_definer:
            continue
        if f.search_path is None:
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} does not pin search_path "
                "(SET search_path = pg_catalog, pg_temp)",
                f.loc,
                f"searchpath:{f.name}",
            )
            continue
        parts = [p.strip().strip('"') for p in f.search_path.split(",")]
        if parts in ([""], ['""']):
            continue  # search_path = '': nothing is searched but pg_catalog (and pg_temp last)
        if "pg_temp" not in parts or parts[-1] != "pg_temp":
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} sets search_path = {f.search_path}: "
                "without pg_temp listed last, temporary objects are searched first",
                f.loc,
                f"searchpath:{f.name}",
            )
