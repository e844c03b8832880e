"""RLS032 multiple-permissive-policies: several permissive policies for one role and command.

Permissive policies are OR-ed: each one is evaluated for every row, so two
policies cost two predicates per row, and a wide one silently widens a narrow
one. One policy with the conditions OR-ed inside (or a RESTRICTIVE policy for
the part that must always hold) says the same once.

Anti-pattern::

    CREATE POLICY select_member ON orgs FOR SELECT USING (id IN (SELECT my_orgs()));
    CREATE POLICY select_invited ON orgs FOR SELECT USING (id IN (SELECT my_invites()));

Fix::

    CREATE POLICY select_visible ON orgs FOR SELECT
        USING (id = ANY ((SELECT my_orgs() || my_invites())::bigint[]));
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, with_parents
from rlskit.lint.model import COMMANDS, Model, Policy, func_name

CHEAP = {"current_setting", "nullif", "coalesce", "lower", "upper"}


def _costly(p: Policy) -> bool:
    """A predicate with a per-row part: IN/EXISTS (SELECT ...) or a function call that is
    not wrapped in a scalar (SELECT ...) (those run once, as an InitPlan)."""
    for expr in (p.using, p.check):
        if expr is None:
            continue
        for t, n, parents in with_parents({"root": expr}):
            if "SubLink" in parents:
                continue
            if t == "SubLink" and n.get("subLinkType") in ("ANY_SUBLINK", "EXISTS_SUBLINK"):
                return True
            if t == "FuncCall" and func_name(n).rsplit(".", 1)[-1] not in CHEAP:
                return True
    return False


@make_rule("RLS032", "multiple-permissive-policies", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    groups: dict[tuple[str, str, str], list[Policy]] = {}
    for p in model.policies.values():
        if not p.permissive:
            continue
        for cmd in COMMANDS if p.command == "ALL" else (p.command,):
            for role in p.roles:
                groups.setdefault((p.table, cmd, role), []).append(p)
    reported: set[tuple[str, ...]] = set()
    for (table, cmd, role), ps in sorted(groups.items()):
        ps = [p for p in ps if _costly(p)]
        if len(ps) < 2 or role in config.admin_roles:
            continue
        names = tuple(sorted(p.name for p in ps))
        if (table, cmd, *names) in reported:
            continue  # the same policies for another role: one finding
        reported.add((table, cmd, *names))
        first = min(ps, key=lambda p: (p.loc.file or "", p.loc.line or 0))
        yield RULE.finding(
            f"{len(ps)} permissive {cmd} policies on {table} for {role} ({', '.join(names)}) "
            "are each evaluated per row: merge them into one",
            first.loc,
            f"policy:{table}:*:multi:{cmd}:{','.join(names)}",
        )
