"""RLS021 restrictive-without-permissive: only RESTRICTIVE policies for a command.

Restrictive policies narrow what permissive ones allow; with no permissive
policy the command is denied to everyone.

Anti-pattern::

    CREATE POLICY tenant_only ON t AS RESTRICTIVE FOR SELECT TO app USING (...);

Fix::

    CREATE POLICY tenant_only ON t AS PERMISSIVE FOR SELECT TO app USING (...);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import COMMANDS, Model


@make_rule("RLS021", "restrictive-without-permissive", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        if p.permissive:
            continue
        cmds = COMMANDS if p.command == "ALL" else (p.command,)
        for cmd in cmds:
            if not any(
                q.permissive and q.table == p.table and q.applies_to(cmd)
                for q in model.policies.values()
            ):
                yield RULE.finding(
                    f"restrictive policy {p.name} on {p.table} has no permissive {cmd} policy to "
                    f"narrow: {cmd} is denied to everyone",
                    p.loc,
                    f"{p.key}:{cmd}",
                )
                break
